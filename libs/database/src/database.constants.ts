/** Name of the embedded cluster's database for the application. */
export const EMBEDDED_DATABASE_NAME = 'loadstar';

/** @default slow-query threshold in milliseconds */
export const DEFAULT_SLOW_QUERY_MS = 200;

/** The client-side query timeout exceeds the server's statement timeout by this much. */
export const QUERY_TIMEOUT_MARGIN_MS = 1_000;

/**
 * @default milliseconds an `inTransaction` scope may sit between two statements before the
 * server ends it: how long the row locks of a caller that vanished (its host lost) stall
 * other writers of those rows.
 */
export const DEFAULT_TRANSACTION_IDLE_MS = 1_000;

/** Redis keys of the read-your-writes fences: the prefix, then the client (`…:42`). */
export const READ_YOUR_WRITES_KEY_PREFIX = 'loadstar:v1:read-your-writes:';

/**
 * Wait at most this for Redis when storing or reading a fence: a read that gets no fence in
 * time goes to the primary, which has every write.
 */
export const READ_YOUR_WRITES_REDIS_TIMEOUT_MS = 100;

/** A fence outlives the time every replica in the rotation must have it by this much. */
export const READ_YOUR_WRITES_TTL_MARGIN_MS = 1_000;
