export const DEFAULT_CONNECT_TIMEOUT_MS = 1_000;
export const DEFAULT_MAX_RECONNECT_DELAY_MS = 1_000;
export const DEFAULT_MAX_PENDING_COMMANDS = 10_000;
/** `REDIS_SENTINEL_MASTER` when unset: the name in Redis' own sentinel.conf example. */
export const DEFAULT_SENTINEL_MASTER = 'mymaster';

/**
 * How often a Sentinel connection asks the sentinels for the primary even without a
 * notification, and how often a connection whose primary is away tries it again.
 */
export const SENTINEL_SCAN_INTERVAL_MS = 1_000;
export const PRIMARY_PROBE_INTERVAL_MS = 250;
export const SENTINEL_CONNECT_TIMEOUT_MS = 5_000;
/**
 * A Sentinel connection whose client counts itself connected while the primary it names has
 * not answered a probe for this long is replaced by a new one: a failover takes 4–6 s from
 * the primary's loss to a working new primary here (6.1 s once in CI, for a frozen primary),
 * and the issue promises 10 s after the promotion.
 */
export const SENTINEL_REBUILD_AFTER_MS = 8_000;
/** How often a cluster connection with a failed node asks for the slot map again. */
export const CLUSTER_REFRESH_INTERVAL_MS = 250;

/** `redis_unavailable_total{client}`: each time a connection lost its Redis (not each failed command). */
export const REDIS_UNAVAILABLE_METRIC = 'redis_unavailable_total';
/** `redis_primary_changes_total{client}`: primaries a Sentinel connection moved to. */
export const REDIS_PRIMARY_CHANGES_METRIC = 'redis_primary_changes_total';
