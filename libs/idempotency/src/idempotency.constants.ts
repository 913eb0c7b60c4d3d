/** Metadata key of `@Idempotent()`'s options. */
export const IDEMPOTENT_OPTIONS_METADATA = 'idempotency:options';
/** The request header carrying the client's key. */
export const IDEMPOTENCY_KEY_HEADER = 'idempotency-key';

/** The response header set on a stored response served again. */
export const IDEMPOTENT_REPLAYED_HEADER = 'idempotent-replayed';

/** Longest key accepted, in characters (a UUID is 36, a ULID 26). */
export const IDEMPOTENCY_KEY_MAX_LENGTH = 255;

/** @default how long a key and its response are kept: 24 hours */
export const DEFAULT_TTL_MS = 24 * 60 * 60 * 1000;

/** @default how long a claim holds before another request may take the key over */
export const DEFAULT_LOCK_TIMEOUT_MS = 30_000;

/** @default how long a duplicate waits for the first request before a 409 */
export const DEFAULT_WAIT_MS = 5_000;

/** @default largest streamed body a duplicate is hashed from before a 413 */
export const DEFAULT_MAX_STREAMED_BYTES = 64 * 1024 * 1024;

/** How often a waiting duplicate looks at the first request's claim again. */
export const WAIT_POLL_MS = 25;

/** How often expired keys are deleted. */
export const PURGE_INTERVAL_MS = 10 * 60 * 1000;

/**
 * Response headers that belong to one exchange, not to the result: never stored, so a replay
 * carries its own request id, rate-limit counters and connection handling.
 */
export const UNSTORED_HEADERS: ReadonlySet<string> = new Set([
  'connection',
  'content-length',
  'date',
  'keep-alive',
  'retry-after',
  'set-cookie',
  'transfer-encoding',
  'x-request-id',
]);
