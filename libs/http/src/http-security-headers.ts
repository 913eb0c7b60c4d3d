import type { IncomingMessage, ServerResponse } from 'node:http';
import helmet, { HelmetOptions } from 'helmet';

/**
 * Swagger UI at `/docs` loads its own scripts, styles and inline images; everything else is
 * JSON, for which the strict default policy is right.
 */
const HELMET_OPTIONS: Readonly<HelmetOptions> = {
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
 * Helmet's security headers, computed once. `@fastify/helmet` rebuilds Helmet's middleware
 * and runs two hooks on every request; the headers never vary here (no CSP nonces), so
 * setting a precomputed object costs a fraction of that on the hot path.
 */
export function securityHeaders(options: HelmetOptions = HELMET_OPTIONS): Record<string, string> {
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
