import type { IncomingMessage, ServerResponse } from 'node:http';
import type { FastifyReply, FastifyRequest, HookHandlerDoneFunction } from 'fastify';
import helmet, { HelmetOptions } from 'helmet';
import { OPENAPI_PATH, REQUEST_ID_HEADER } from './http.constants';

/**
 * Helmet headers that no browser acts on any more, left out everywhere: `X-XSS-Protection`
 * (the XSS auditor it switches is gone from every browser), `X-Download-Options` (Internet
 * Explorer 8) and `X-Permitted-Cross-Domain-Policies` (Flash and Acrobat).
 */
const WITHOUT_OBSOLETE_HEADERS = {
  xXssProtection: false,
  xDownloadOptions: false,
  xPermittedCrossDomainPolicies: false,
} as const satisfies HelmetOptions;

/**
 * JSON responses load nothing and are framed by no one, so their policy allows nothing; they
 * keep what protects a JSON answer: HSTS, `nosniff`, no referrer, `X-Frame-Options` for
 * browsers that predate `frame-ancestors`, and same-origin CORP (no cross-origin `no-cors`
 * read, e.g. through a `<script>` tag; CORS requests are not affected). Headers that govern
 * only an HTML document are left out: COOP, `Origin-Agent-Cluster`, `X-DNS-Prefetch-Control`.
 * Every header costs CPU on each response (set, validated, serialized), and this is the
 * policy of every request but `/docs`.
 */
const API_HELMET_OPTIONS: Readonly<HelmetOptions> = {
  ...WITHOUT_OBSOLETE_HEADERS,
  contentSecurityPolicy: {
    useDefaults: false,
    directives: { defaultSrc: ["'none'"], frameAncestors: ["'none'"] },
  },
  frameguard: { action: 'deny' },
  crossOriginOpenerPolicy: false,
  originAgentCluster: false,
  xDnsPrefetchControl: false,
};

/** Swagger UI at `/docs` is an HTML page that loads its own scripts, styles and inline images. */
const DOCS_HELMET_OPTIONS: Readonly<HelmetOptions> = {
  ...WITHOUT_OBSOLETE_HEADERS,
  contentSecurityPolicy: {
    directives: {
      defaultSrc: ["'self'"],
      styleSrc: ["'self'", "'unsafe-inline'"],
      imgSrc: ["'self'", 'data:', 'validator.swagger.io'],
      scriptSrc: ["'self'", "https: 'unsafe-inline'"],
      // on plain http (localhost, behind a TLS-terminating proxy) it would break /docs
      upgradeInsecureRequests: null,
    },
  },
};

/**
 * Helmet's security headers for `options`, computed once. `@fastify/helmet` rebuilds Helmet's
 * middleware and runs two hooks on every request; the headers never vary here (no CSP nonces),
 * so setting a precomputed object costs a fraction of that on the hot path.
 */
function securityHeaders(options: Readonly<HelmetOptions>): Record<string, string> {
  const headers: Record<string, string> = {};
  const recorder = {
    setHeader(name: string, value: string | number | readonly string[]) {
      headers[name.toLowerCase()] = String(value);
    },
    removeHeader(name: string) {
      delete headers[name.toLowerCase()];
    },
  };
  helmet(options)(
    {} as IncomingMessage,
    recorder as unknown as ServerResponse,
    (error?: unknown) => {
      if (error) throw error;
    },
  );
  return headers;
}

/**
 * The `onRequest` hook that sets what every response carries, first of all hooks so that
 * early answers (load shedding, 404s, errors) carry it too: the request id (contract) and the
 * security headers, the API's or, under `/docs` (and `/docs-json`), Swagger UI's.
 */
export function createResponseHeadersHook(): (
  request: FastifyRequest,
  reply: FastifyReply,
  done: HookHandlerDoneFunction,
) => void {
  const apiHeaders = securityHeaders(API_HELMET_OPTIONS);
  const docsHeaders = securityHeaders(DOCS_HELMET_OPTIONS);
  const docsPrefix = `/${OPENAPI_PATH}`;
  return (request, reply, done) => {
    void reply
      .header(REQUEST_ID_HEADER, request.id)
      .headers(request.url.startsWith(docsPrefix) ? docsHeaders : apiHeaders);
    done();
  };
}
