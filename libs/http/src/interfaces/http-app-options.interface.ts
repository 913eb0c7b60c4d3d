/**
 * Fastify's `trustProxy`: `false` (use the socket address), a hop count (the number of proxies
 * in front of the app), or a list of trusted proxy addresses / CIDR ranges. Never `true`
 * (every hop trusted), which lets a client choose its address through `X-Forwarded-For`.
 */
export type TrustProxySetting = false | number | string[];

/** The second listener that serves only the operations routes. */
export interface OperationsListenerOptions {
  /** `0` picks a free port (tests). */
  port: number;
  host: string;
}

/** When a process answers 503 before doing any work (`@fastify/under-pressure`); 0 disables. */
export interface LoadSheddingOptions {
  /** Mean event-loop delay, in milliseconds, above which requests are shed. */
  maxEventLoopDelayMs: number;
  /** Share of V8's heap limit (0–1) above which requests are shed. */
  maxHeapUsedRatio: number;
}

/** Options of {@link createHttpApp} and {@link listenHttpApp}. */
export interface HttpAppOptions {
  port: number;
  host: string;
  /**
   * When set, `/health/*`, `/metrics` and `/docs` are served only on this listener and the
   * public one answers 404 for them; unset, they are served on the public listener.
   */
  operations?: OperationsListenerOptions;
  /** Serve the OpenAPI UI and document (`/docs`, `/docs-json`). */
  docsEnabled: boolean;
  /** `info.version` of the OpenAPI document. @example '0.1.0' */
  version: string;
  trustProxy: TrustProxySetting;
  /** Largest accepted request body in bytes (the import route has its own limit). */
  bodyLimitBytes: number;
  /** Budget for in-flight requests after SIGTERM; connections still open then are cut. */
  shutdownTimeoutMs: number;
  /** After SIGTERM, readiness answers 503 this long before the listener closes. */
  shutdownDelayMs: number;
  /** Origins allowed by CORS: `false` sends no CORS headers, `true` allows any origin. */
  corsOrigins: boolean | string[];
  shedding: LoadSheddingOptions;
  /**
   * Serve only `/health/*` and `/metrics`, every other route being a 404: a process that
   * runs background jobs (`PROCESS_ROLE=worker`) and no API.
   * @default false
   */
  operationsOnly?: boolean;
}
