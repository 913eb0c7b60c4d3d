import cluster from 'node:cluster';
import { Inject, Injectable, Logger, OnApplicationShutdown, OnModuleInit } from '@nestjs/common';
import { inSpan, recordingSpan, tracer } from '@app/tracing';
import {
  DEFAULT_L1_MAX_BYTES,
  DEFAULT_L1_MAX_ENTRIES,
  DEFAULT_L1_TTL_MS,
  DEFAULT_LOCK_TTL_MS,
  DEFAULT_LOCK_WAIT_MS,
  DEFAULT_REDIS_COMMAND_TIMEOUT_MS,
  DEFAULT_REDIS_CONNECT_TIMEOUT_MS,
  DEFAULT_REDIS_MAX_RECONNECT_DELAY_MS,
  DEFAULT_TTL_MS,
  MAX_LOCAL_WRITES,
} from './cache.constants';
import { CacheTally, cacheTally } from './cache.metrics';
import { CACHE_MODULE_OPTIONS } from './cache.module-definition';
import { Coherence, LocalWriteLog } from './coherence';
import {
  CacheEntry,
  CacheModuleOptions,
  CachePeekOptions,
  CacheRead,
  CacheReadOptions,
  CacheReadStatus,
  CacheReadTier,
} from './interfaces';
import { MemoryLruStore, MemoryTagIndex } from './memory';
import { ReadThrough } from './read-through';
import { RedisTier, StoredValue } from './redis';

/** What readiness reports about the cache. */
export interface CacheHealth {
  /** `off`: the cache is switched off (`enabled: false`). */
  store: 'memory' | 'redis' | 'off';
  /** Redis configured but unreachable or unsubscribed: serving from the L1 and the database. */
  degraded: boolean;
  redis?: 'up' | 'down';
  invalidationBus?: 'up' | 'down';
}

/** The span of a read through the cache (docs/tracing.md). */
const CACHE_READ_SPAN = 'cache.read';

function readAttributes(cache: string, result: CacheReadStatus, tier: CacheReadTier) {
  return { 'cache.name': cache, 'cache.result': result, 'cache.tier': tier };
}

function cacheNameOf(key: string): string {
  const end = key.indexOf(':');
  return end === -1 ? key : key.slice(0, end);
}

/**
 * loadstar's cache, a facade over its parts: the memory tier (an in-process LRU, `./memory`),
 * the Redis tier (`./redis`, its commands Lua scripts run by name), read-through with
 * stampede protection (`./read-through`), and coherence across processes (`./coherence`: an
 * invalidation bus, write fences, evictions replayed after an outage). Without Redis the LRU
 * is the whole cache; with it, a near cache (L1). Redis failures are counted, never thrown.
 *
 * Keys are plain (`user:42`); in Redis they live under `loadstar:v2:`. Values must survive
 * JSON (Redis stores them serialized).
 */
@Injectable()
export class CacheService implements OnModuleInit, OnApplicationShutdown {
  private readonly logger = new Logger('Cache');
  private readonly enabled: boolean;
  private readonly defaultTtlMs: number;
  private readonly l1: MemoryLruStore;
  private readonly redis?: RedisTier;
  private readonly readThrough: ReadThrough;
  private readonly coherence: Coherence;

  constructor(@Inject(CACHE_MODULE_OPTIONS) options: CacheModuleOptions) {
    this.enabled = options.enabled ?? true;
    this.defaultTtlMs = options.defaultTtlMs ?? DEFAULT_TTL_MS;
    const l1TtlMs = options.l1?.ttlMs ?? DEFAULT_L1_TTL_MS;
    // Without Redis, cluster workers cannot tell each other about writes: short lifetimes
    // bound how long one worker serves what another has changed.
    const privateToWorker =
      this.enabled && options.redisConnection === undefined && cluster.isWorker;
    if (privateToWorker) {
      this.logger.warn(
        `Redis not configured in a cluster worker: each worker caches alone, entries live ${l1TtlMs} ms`,
      );
    }
    const localTags = new MemoryTagIndex();
    this.l1 = new MemoryLruStore({
      maxEntries: options.l1?.maxEntries ?? DEFAULT_L1_MAX_ENTRIES,
      maxBytes: options.l1?.maxBytes ?? DEFAULT_L1_MAX_BYTES,
      maxTtlMs: options.redisConnection !== undefined || privateToWorker ? l1TtlMs : undefined,
      onRemove: (key) => localTags.forget(key),
    });
    const connectTimeoutMs = options.redis?.connectTimeoutMs ?? DEFAULT_REDIS_CONNECT_TIMEOUT_MS;
    if (options.redisConnection !== undefined && this.enabled) {
      this.redis = new RedisTier(
        {
          redis: options.redisConnection,
          commandTimeoutMs: options.redis?.commandTimeoutMs ?? DEFAULT_REDIS_COMMAND_TIMEOUT_MS,
          connectTimeoutMs,
          maxReconnectDelayMs:
            options.redis?.maxReconnectDelayMs ?? DEFAULT_REDIS_MAX_RECONNECT_DELAY_MS,
          lockTtlMs: options.lock?.ttlMs ?? DEFAULT_LOCK_TTL_MS,
        },
        () => cacheTally('redis').error++,
      );
    }
    const writeLog = new LocalWriteLog(MAX_LOCAL_WRITES);
    const tiers = { l1: this.l1, localTags, writeLog, redis: this.redis };
    this.readThrough = new ReadThrough({
      ...tiers,
      defaultTtlMs: this.defaultTtlMs,
      lockWaitMs: options.lock?.waitMs ?? DEFAULT_LOCK_WAIT_MS,
    });
    this.coherence = new Coherence({ ...tiers, readThrough: this.readThrough, connectTimeoutMs });
  }

  async onModuleInit(): Promise<void> {
    await Promise.all([this.redis?.connect(), this.coherence.start()]);
  }

  onApplicationShutdown(): void {
    this.coherence.close();
    this.redis?.close();
  }

  health(): CacheHealth {
    if (!this.enabled) return { store: 'off', degraded: false };
    if (!this.redis) return { store: 'memory', degraded: false };
    const redis = this.redis.available ? 'up' : 'down';
    const invalidationBus = this.coherence.listening ? 'up' : 'down';
    return {
      store: 'redis',
      degraded: redis === 'down' || invalidationBus === 'down',
      redis,
      invalidationBus,
    };
  }

  /**
   * The hot path: a synchronous look into this process's LRU, without a promise or a Redis
   * round trip. Counts a hit when found; on `undefined` call {@link wrap}.
   */
  peek<T>(key: string, options?: CachePeekOptions): T | undefined {
    const value = this.lookup<T>(key, options);
    if (value !== undefined) this.countHit(key, options);
    return value;
  }

  /**
   * {@link peek} without counting the hit, for a caller that decides afterwards whether it
   * serves the value (the cache fast path, which runs the route's guards in between).
   * @internal
   */
  lookup<T>(key: string, options?: CachePeekOptions): T | undefined {
    if (!this.enabled || !this.coherence.route().l1) return undefined;
    const stored = this.l1.peek(key) as StoredValue<T> | undefined;
    if (stored === undefined) return undefined;
    const threshold = options?.refreshThreshold;
    if (threshold !== undefined && (stored.expires ?? Infinity) - Date.now() < threshold) {
      return undefined;
    }
    return stored.value;
  }

  /** Counts a hit found by {@link lookup} once it is served. @internal */
  countHit(key: string, options?: CachePeekOptions): void {
    const cache = options?.cache ?? cacheNameOf(key);
    cacheTally(cache).hit++;
    if (recordingSpan()) {
      tracer
        .startSpan(CACHE_READ_SPAN, { attributes: readAttributes(cache, 'hit', 'memory') })
        .end();
    }
  }

  /**
   * Read-through: the cached value, else `load()` once — concurrent callers in this process
   * share one load, and with Redis one process loads while the others wait for its value
   * (fill lock) — then stored in every tier, unless a write or an eviction of the key (or of
   * one of its tags) came meanwhile: the value loaded is then returned but not stored.
   */
  async wrap<T>(
    key: string,
    load: () => Promise<T>,
    options: CacheReadOptions<T> = {},
  ): Promise<CacheRead<T>> {
    const cache = options.cache ?? cacheNameOf(key);
    // the load runs inside the span: its queries are the span's children
    return inSpan(CACHE_READ_SPAN, { 'cache.name': cache }, async (span) => {
      const read = await this.read(key, load, options, cacheTally(cache));
      span?.setAttributes(readAttributes(cache, read.status, read.tier));
      return read;
    });
  }

  private async read<T>(
    key: string,
    load: () => Promise<T>,
    options: CacheReadOptions<T>,
    tally: CacheTally,
  ): Promise<CacheRead<T>> {
    if (!this.enabled) {
      tally.miss++;
      return { value: await load(), status: 'miss', tier: 'origin' };
    }
    const route = this.coherence.route();
    if (this.redis && !route.l2) tally.error++;
    return this.readThrough.wrap(key, load, options, route, tally);
  }

  /**
   * Read-through of many keys: the L1, then one read of the rest from Redis, then one
   * `loadMissing` call for every key still missing, stored with one write (each entry unless
   * written or evicted meanwhile, as {@link wrap}).
   * @returns the values in the order of `keys`, `undefined` where `loadMissing` had none.
   */
  async wrapMany<T>(
    keys: readonly string[],
    loadMissing: (missing: string[]) => Promise<ReadonlyMap<string, T>>,
    options: Pick<CacheReadOptions<T>, 'cache' | 'ttl'> = {},
  ): Promise<(T | undefined)[]> {
    if (keys.length === 0) return [];
    const tally = cacheTally(options.cache ?? cacheNameOf(keys[0]));
    let found: ReadonlyMap<string, T>;
    if (this.enabled) {
      const ttl = options.ttl ?? this.defaultTtlMs;
      const route = this.coherence.route();
      found = await this.readThrough.wrapMany(keys, loadMissing, ttl, route, tally);
    } else {
      const unique = [...new Set(keys)];
      tally.miss += unique.length;
      found = await loadMissing(unique);
    }
    return keys.map((key) => found.get(key));
  }

  /**
   * The cached value of `key`, without loading: from the L1, else from Redis (which then
   * fills the L1); `undefined` when neither has it. Counts no hit or miss.
   */
  async get<T>(key: string): Promise<T | undefined> {
    if (!this.enabled) return undefined;
    const tally = cacheTally(cacheNameOf(key));
    const found = await this.readThrough.readMany<T>([key], this.coherence.route(), tally);
    return found.get(key);
  }

  /** Write-through: the next read of `key`, in any process, returns `value`. */
  set<T>(key: string, value: T, ttl?: number): Promise<void> {
    return this.setMany([{ key, value, ttl }]);
  }

  /**
   * Write-through of several entries in one script; other processes drop their L1 copies,
   * and fills of these keys running anywhere no longer store what they loaded.
   */
  async setMany(entries: readonly CacheEntry[]): Promise<void> {
    if (entries.length === 0 || !this.enabled) return;
    const now = Date.now();
    await this.coherence.write(
      entries.map(({ key, value, ttl = this.defaultTtlMs }) => ({
        key,
        stored: { value, expires: now + ttl },
        ttl,
      })),
    );
  }

  /** Removes `keys` from every tier of every process. */
  async evict(keys: readonly string[]): Promise<void> {
    if (keys.length === 0 || !this.enabled) return;
    await this.coherence.evict(keys);
  }

  /** Removes every entry tagged with any of `tags`, in every tier of every process. */
  async evictTags(tags: readonly string[]): Promise<void> {
    if (tags.length === 0 || !this.enabled) return;
    await this.coherence.evictTags(tags);
  }

  /** Entries and approximate bytes held in this process. */
  localSize(): { entries: number; bytes: number } {
    return { entries: this.l1.size, bytes: this.l1.byteSize };
  }
}
