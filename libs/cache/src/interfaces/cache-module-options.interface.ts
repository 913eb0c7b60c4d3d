import type { RedisConnectionOptions } from '@app/redis';

/** Options of {@link CacheModule}; every duration is in milliseconds. */
export interface CacheModuleOptions {
  /**
   * `false` turns the cache off without touching the decorators: every read loads (responses
   * keep their `ETag`), writes and evictions do nothing, Redis is never connected.
   * @default true
   */
  enabled?: boolean;
  /**
   * Serve L1 hits of `@Cached()` routes from a Fastify hook ahead of Nest's router, with the
   * same guards, headers and answers (see `CacheFastPath`); `false` sends every request
   * through Nest's pipeline.
   * @default true
   */
  fastPath?: boolean;
  /**
   * The Redis of the shared tier (one server, Sentinel or Cluster). Unset: one in-process LRU,
   * private to this process.
   * @example { url: 'redis://127.0.0.1:6379' }
   */
  redisConnection?: RedisConnectionOptions;
  /**
   * TTL of an entry whose decorator or call gives none.
   * @default 300_000
   */
  defaultTtlMs?: number;
  /** The in-process LRU: the whole cache without Redis, a near-cache (L1) in front of it with. */
  l1?: {
    /** @default 10_000 */
    maxEntries?: number;
    /** Approximate: characters of cached bodies. @default 67_108_864 (64 MB) */
    maxBytes?: number;
    /**
     * Longest an entry stays in the L1 while Redis is the shared tier (and in cluster workers
     * without Redis), so a missed invalidation heals by itself.
     * @default 5_000
     */
    ttlMs?: number;
  };
  /** How the cache talks to Redis. */
  redis?: {
    /** A command slower than this fails (and the request goes on without the cache). @default 100 */
    commandTimeoutMs?: number;
    /** @default 1_000 */
    connectTimeoutMs?: number;
    /** Longest pause between reconnection attempts (exponential backoff up to it). @default 2_000 */
    maxReconnectDelayMs?: number;
  };
  /**
   * Runs a route's writes to the cache (`@CachePut()`, `@CacheEvict()`) once they may run:
   * give it a hook that waits for the route's database transaction to commit
   * (`DatabaseService.afterCommit`), so the cache never shows a change that is rolled back.
   * @default runs them at once
   * @example (writes) => database.afterCommit(writes)
   */
  deferWrites?: (writes: () => Promise<void>) => Promise<void>;
  /** The cross-process fill lock (one loader per key across processes). */
  lock?: {
    /** Lock lifetime: a holder that dies blocks the key at most this long. @default 3_000 */
    ttlMs?: number;
    /** How long other processes wait for the holder's value before loading themselves. @default 1_000 */
    waitMs?: number;
  };
}
