/** How a read was served: from the cache, by loading, or from the cache while one refresh runs. */
export type CacheReadStatus = 'hit' | 'miss' | 'stale';

/** Where a read's value came from: this process's LRU, Redis, or the load (`origin`). */
export type CacheReadTier = 'memory' | 'redis' | 'origin';

/** A value read through the cache, and how. */
export interface CacheRead<T> {
  value: T;
  status: CacheReadStatus;
  tier: CacheReadTier;
}

/** Options of `CacheService.peek`. */
export interface CachePeekOptions {
  /** The cache's name in metrics. @default the key's first segment */
  cache?: string;
  /** Within this many ms of expiry the entry is left to `CacheService.wrap` to refresh. */
  refreshThreshold?: number;
}

/** Options of `CacheService.wrap`. */
export interface CacheReadOptions<T> extends CachePeekOptions {
  /** @default the module's `defaultTtlMs` */
  ttl?: number;
  /** Tags of a freshly loaded value, for `CacheService.evictTags`. */
  tags?: (value: T) => readonly string[];
}

/** One write of `CacheService.setMany`. */
export interface CacheEntry<T = unknown> {
  key: string;
  value: T;
  /** @default the module's `defaultTtlMs` */
  ttl?: number;
}
