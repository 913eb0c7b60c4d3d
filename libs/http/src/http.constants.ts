/** Header carrying the request id in both directions (docs/api.md). */
export const REQUEST_ID_HEADER = 'x-request-id';

/** Where Swagger UI is served (and its OpenAPI document, at `/docs-json`). */
export const OPENAPI_PATH = 'docs';

/**
 * The domain routes' prefix: the rate limiter's `default` tier counts every route under it (the
 * limiter's default scope), so the OpenAPI document gives each of them a `429`.
 */
export const RATE_LIMITED_PREFIX = '/api';

/**
 * The operations routes: `/health/*`, `/metrics`, and the OpenAPI UI with its assets and
 * documents (`/docs`, `/docs/*`, `/docs-json`, `/docs-yaml`). With `OPS_PORT` set they are
 * served on the operations listener only.
 */
export const OPERATIONS_PATH = /^\/(?:health(?:[/?]|$)|metrics(?:[/?]|$)|docs(?:[/?-]|$))/;

/** The only routes a `PROCESS_ROLE=worker` process serves: `/health/*` and `/metrics`. */
export const WORKER_PATH = /^\/(?:health(?:[/?]|$)|metrics(?:[/?]|$))/;

/** Load balancers commonly close idle connections after 60 s; ours must outlive theirs. */
export const KEEP_ALIVE_TIMEOUT_MS = 72_000;
/** Longest a client may take to send the request line and headers. */
export const HEADERS_TIMEOUT_MS = 10_000;
/** Longest a client may take to send a whole request. */
export const REQUEST_TIMEOUT_MS = 60_000;

/** An incoming request id is echoed only when it matches this (a sane token ≤ 128 chars). */
export const SANE_REQUEST_ID = /^[A-Za-z0-9._:@/+=-]{1,128}$/;

/** Largest id PostgreSQL's `integer` keys can hold; larger ids cannot exist. */
export const MAX_ENTITY_ID = 2_147_483_647;

/** Seconds a client should wait before retrying a 503 caused by an unavailable dependency. */
export const UNAVAILABLE_RETRY_AFTER_S = 1;

/**
 * Deepest nesting a JSON body may have. No DTO nests beyond a few levels, and turning a body
 * into a DTO recurses once per level: thousands of levels would overflow the stack (a 500)
 * and cost far more CPU than the request is worth.
 */
export const MAX_BODY_DEPTH = 32;
