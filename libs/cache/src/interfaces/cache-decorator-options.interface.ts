/**
 * A cache key template: `{name}` stands for the route parameter `name`, `{user}` for the id of
 * the authenticated caller. The first segment names the cache in metrics.
 * @example 'user:{id}'
 * @example 'me:{user}'
 */
export type CacheKeyTemplate = string;

/** Options of `@Cached()`: cache-aside of a GET route's serialized response. */
export interface CachedOptions<T = unknown> {
  /** Where the response is cached. Anything a user sees privately must contain `{user}`. */
  key: CacheKeyTemplate;
  /** Server-side TTL in milliseconds. @default the module's `defaultTtlMs` (`CACHE_TTL_S`) */
  ttl?: number;
  /**
   * Stale-while-revalidate: when less than this remains of an entry's TTL, it is still served
   * and one background load replaces it.
   * @example 30_000
   */
  refreshThreshold?: number;
  /**
   * Tags of an entry, computed from the handler's result, so a write can evict every entry
   * that shows some record (`@CacheEvict({ tags })`).
   * @example (dashboard) => dashboard.followers.map((user) => `user:${user.id}`)
   */
  tags?: (result: T) => string[];
}

/** One write-through of `@CachePut()`. */
export interface CachePutOptions<T = unknown> {
  /** The key written; the same template as the `@Cached()` route that reads it. */
  key: CacheKeyTemplate;
  /**
   * What is cached, from the handler's result: a projection when the read route serves less
   * than the write returns (e.g. without the email).
   * @default the result itself
   */
  value?: (result: T) => unknown;
  /** @default the module's `defaultTtlMs` */
  ttl?: number;
}

/** Options of `@CacheEvict()`: what a successful write makes stale. */
export interface CacheEvictOptions {
  /** @example ['dashboard:{user}'] */
  keys?: CacheKeyTemplate[];
  /** @example ['user:{id}'] */
  tags?: CacheKeyTemplate[];
}

/** Options of `@HttpCache()`: what clients and shared HTTP caches may do with the response. */
export interface HttpCacheOptions {
  /** `public` lets shared caches (CDNs, proxies) keep it; `private` only the user's own client. */
  visibility: 'public' | 'private';
  /** `Cache-Control: max-age` in seconds. @example 60 */
  maxAge?: number;
  /** Clients must revalidate (with `If-None-Match`) before every reuse. @default false */
  noCache?: boolean;
}
