/**
 * Namespace of every key of the cache in Redis (`loadstar:v2:{user:42}`, the key being its
 * hash tag: `redis/cache-keys.ts`). The version changes when the stored format or the key
 * layout does, so a deploy never reads entries written by an older one.
 */
export const CACHE_NAMESPACE = 'loadstar:v2';
/** Fill locks: `loadstar:v2:lock:{<key>}`. */
export const CACHE_LOCK_PREFIX = `${CACHE_NAMESPACE}:lock:`;
/** Tag sets: `loadstar:v2:tag:{<tag>}` holds the keys tagged with it. */
export const CACHE_TAG_PREFIX = `${CACHE_NAMESPACE}:tag:`;
/** Write fences: `loadstar:v2:fence:{<key>}` and `loadstar:v2:fence:tag:{<tag>}`. */
export const CACHE_FENCE_PREFIX = `${CACHE_NAMESPACE}:fence:`;
/**
 * Counter of writes and evictions (one per hash slot on Redis Cluster): each stamps the key
 * fences it sets with its own number.
 */
export const CACHE_WRITES_KEY = `${CACHE_NAMESPACE}:writes`;
/** Pub/sub channel of the invalidation bus. */
export const CACHE_INVALIDATION_CHANNEL = `${CACHE_NAMESPACE}:invalidate`;
/** Key templates may not start with these: they would collide with the cache's own keys. */
export const RESERVED_KEY_SEGMENTS = ['lock', 'tag', 'fence', 'writes', 'nest'];

/** Metadata of `@Cached()`. */
export const CACHED_METADATA = 'loadstar:cache:cached';
/** Metadata of `@CachePut()`. */
export const CACHE_PUT_METADATA = 'loadstar:cache:put';
/** Metadata of `@CacheEvict()`. */
export const CACHE_EVICT_METADATA = 'loadstar:cache:evict';
/** Key of a `@Cached()` route's Fastify route config: its controller and handler (fast path). */
export const CACHED_ROUTE_CONFIG = 'loadstar:cache:route';
/** Metadata of `@HttpCache()`. */
export const HTTP_CACHE_METADATA = 'loadstar:cache:http';

/** `cache_operations_total{cache, result}` (docs/observability.md). */
export const CACHE_OPERATIONS_METRIC = 'cache_operations_total';

/** Response header telling how a cached route was served: `HIT`, `MISS` or `STALE`. */
export const CACHE_STATUS_HEADER = 'x-cache';

export const DEFAULT_TTL_MS = 300_000;
export const DEFAULT_L1_MAX_ENTRIES = 10_000;
export const DEFAULT_L1_MAX_BYTES = 64 * 1_048_576;
export const DEFAULT_L1_TTL_MS = 5_000;
export const DEFAULT_REDIS_COMMAND_TIMEOUT_MS = 100;
export const DEFAULT_REDIS_CONNECT_TIMEOUT_MS = 1_000;
export const DEFAULT_REDIS_MAX_RECONNECT_DELAY_MS = 2_000;
export const DEFAULT_LOCK_TTL_MS = 3_000;
export const DEFAULT_LOCK_WAIT_MS = 1_000;
/**
 * How long a write's fence outlives it in Redis, and so how long a fill may run and still
 * store what it loaded: a fill older than this stores nothing.
 */
export const FENCE_TTL_MS = 60_000;
/** Writes remembered in process for running fills; past this, those fills store nothing. */
export const MAX_LOCAL_WRITES = 10_000;
/** How often a process waiting for another's fill looks for the value. */
export const LOCK_POLL_MS = 15;
/** Keys whose eviction could not reach Redis, replayed once it is back; beyond this, dropped. */
export const MAX_PENDING_EVICTIONS = 10_000;
/**
 * A write or eviction whose command failed while Redis stayed up (a timeout, the command
 * perhaps run after all) is replayed this soon, not at the next outage's end.
 */
export const EVICTION_RETRY_MS = 200;
/** Keys written through `CACHE_MANAGER` (and Nest's `CacheInterceptor`): `nest:<key>`. */
export const CACHE_MANAGER_NAMESPACE = 'nest';
