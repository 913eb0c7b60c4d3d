import { randomUUID } from 'node:crypto';
import cluster from 'node:cluster';
import { setTimeout as sleep } from 'node:timers/promises';
import { Inject, Injectable, Logger, OnApplicationShutdown, OnModuleInit } from '@nestjs/common';
import { Cache, createCache } from 'cache-manager';
import { Keyv } from 'keyv';
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
  LOCK_POLL_MS,
  MAX_LOCAL_WRITES,
  MAX_PENDING_EVICTIONS,
} from './cache.constants';
import { cacheTally, CacheTally } from './cache.metrics';
import { CACHE_MODULE_OPTIONS } from './cache.module-definition';
import { CacheModuleOptions } from './interfaces';
import {
  FillClaim,
  FilledEntry,
  InvalidationBus,
  LocalWriteLog,
  MemoryLruStore,
  MemoryTagIndex,
  RedisTier,
  StoredValue,
} from './stores';

/** How a read was served: from the cache, by loading, or from the cache while one refresh runs. */
export type CacheReadStatus = 'hit' | 'miss' | 'stale';

/** A value read through the cache, and how. */
export interface CacheRead<T> {
  value: T;
  status: CacheReadStatus;
}

/** Options of {@link CacheService.peek}. */
export interface CachePeekOptions {
  /** The cache's name in metrics. @default the key's first segment */
  cache?: string;
  /** Within this many ms of expiry the entry is left to {@link CacheService.wrap} to refresh. */
  refreshThreshold?: number;
}

/** Options of {@link CacheService.wrap}. */
export interface CacheReadOptions<T> extends CachePeekOptions {
  /** @default the module's `defaultTtlMs` */
  ttl?: number;
  /** Tags of a freshly loaded value, for {@link CacheService.evictTags}. */
  tags?: (value: T) => readonly string[];
}

/** One write of {@link CacheService.setMany}. */
export interface CacheEntry<T = unknown> {
  key: string;
  value: T;
  /** @default the module's `defaultTtlMs` */
  ttl?: number;
}

/** What readiness reports about the cache. */
export interface CacheHealth {
  /** `off`: the cache is switched off (`enabled: false`). */
  store: 'memory' | 'redis' | 'off';
  /** Redis configured but unreachable or unsubscribed: serving from the L1 and the database. */
  degraded: boolean;
  redis?: 'up' | 'down';
  invalidationBus?: 'up' | 'down';
}

/** Where reads and writes go right now. */
interface Route {
  cache: Cache;
  l1: boolean;
  l2: boolean;
}

/** What Keyv keeps for a value. */
interface Stored<T> extends StoredValue {
  value: T;
}

/** What a fill brought: a value loaded here, or found in Redis. */
interface Filled<T> {
  stored: Stored<T>;
  loaded: boolean;
}

/** One read-through of a key ({@link CacheService.wrap}): what its fill or refresh needs. */
interface ReadThrough<T> {
  key: string;
  load: () => Promise<T>;
  options: CacheReadOptions<T>;
  route: Route;
  tally: CacheTally;
}

/** A fill running in this process, which concurrent readers of its key join. */
interface RunningFill {
  filled: Promise<Filled<unknown>>;
  /** Its value has tags: an eviction of any tag stops new readers from joining it. */
  tagged: boolean;
}

function cacheNameOf(key: string): string {
  const end = key.indexOf(':');
  return end === -1 ? key : key.slice(0, end);
}

/**
 * loadstar's cache: cache-manager 7 tiers over Keyv stores — an in-process LRU alone, or
 * that LRU as an L1 in front of Redis — plus what cache-manager lacks: a cross-process fill
 * lock, an invalidation bus keeping every process's L1 coherent, tags, and degradation to the
 * L1 and the database while Redis is away (errors counted, never thrown).
 *
 * Keys are plain (`user:42`); in Redis they live under `loadstar:v1:`. Values must survive
 * JSON (Redis stores them serialized).
 */
@Injectable()
export class CacheService implements OnModuleInit, OnApplicationShutdown {
  private readonly logger = new Logger('Cache');
  private readonly origin = randomUUID();
  private readonly enabled: boolean;
  private readonly defaultTtlMs: number;
  private readonly lockWaitMs: number;
  private readonly l1: MemoryLruStore;
  private readonly localTags = new MemoryTagIndex();
  private readonly redis?: RedisTier;
  private readonly bus?: InvalidationBus;
  private readonly local: Route;
  private readonly tiered?: Route;
  private readonly remote?: Route;
  private readonly fills = new Map<string, RunningFill>();
  private readonly refreshing = new Set<string>();
  private readonly writeLog = new LocalWriteLog(MAX_LOCAL_WRITES);
  private readonly pendingKeys = new Set<string>();
  private readonly pendingTags = new Set<string>();
  private lockSequence = 0;
  private redisWasAvailable = true;

  constructor(@Inject(CACHE_MODULE_OPTIONS) options: CacheModuleOptions) {
    this.enabled = options.enabled ?? true;
    this.defaultTtlMs = options.defaultTtlMs ?? DEFAULT_TTL_MS;
    this.lockWaitMs = options.lock?.waitMs ?? DEFAULT_LOCK_WAIT_MS;
    const l1TtlMs = options.l1?.ttlMs ?? DEFAULT_L1_TTL_MS;
    // Without Redis, cluster workers cannot tell each other about writes: short lifetimes
    // bound how long one worker serves what another has changed.
    const privateToWorker = this.enabled && options.redisUrl === undefined && cluster.isWorker;
    if (privateToWorker) {
      this.logger.warn(
        `REDIS_URL unset in a cluster worker: each worker caches alone, entries live ${l1TtlMs} ms`,
      );
    }
    this.l1 = new MemoryLruStore({
      maxEntries: options.l1?.maxEntries ?? DEFAULT_L1_MAX_ENTRIES,
      maxBytes: options.l1?.maxBytes ?? DEFAULT_L1_MAX_BYTES,
      maxTtlMs: options.redisUrl !== undefined || privateToWorker ? l1TtlMs : undefined,
      onRemove: (key) => this.localTags.forget(key),
    });
    const l1 = new Keyv({ store: this.l1, namespace: undefined, useKeyPrefix: false });
    l1.serialize = undefined;
    l1.deserialize = undefined;
    this.local = { cache: createCache({ stores: [l1] }), l1: true, l2: false };
    if (options.redisUrl === undefined || !this.enabled) return;

    const connectTimeoutMs = options.redis?.connectTimeoutMs ?? DEFAULT_REDIS_CONNECT_TIMEOUT_MS;
    this.redis = new RedisTier(
      {
        url: options.redisUrl,
        commandTimeoutMs: options.redis?.commandTimeoutMs ?? DEFAULT_REDIS_COMMAND_TIMEOUT_MS,
        connectTimeoutMs,
        maxReconnectDelayMs:
          options.redis?.maxReconnectDelayMs ?? DEFAULT_REDIS_MAX_RECONNECT_DELAY_MS,
        lockTtlMs: options.lock?.ttlMs ?? DEFAULT_LOCK_TTL_MS,
      },
      () => cacheTally('redis').error++,
    );
    this.bus = new InvalidationBus(
      this.redis,
      connectTimeoutMs,
      (keys) => this.dropLocal(keys),
      () => this.clearLocal(),
    );
    const tiered = createCache({ stores: [l1, this.redis.keyv], refreshAllStores: true });
    this.tiered = { cache: tiered, l1: true, l2: true };
    this.remote = { cache: createCache({ stores: [this.redis.keyv] }), l1: false, l2: true };
  }

  async onModuleInit(): Promise<void> {
    await Promise.all([this.redis?.connect(), this.bus?.start()]);
  }

  onApplicationShutdown(): void {
    this.bus?.close();
    this.redis?.close();
  }

  health(): CacheHealth {
    if (!this.enabled) return { store: 'off', degraded: false };
    if (!this.redis || !this.bus) return { store: 'memory', degraded: false };
    const redis = this.redis.available ? 'up' : 'down';
    const invalidationBus = this.bus.ready ? 'up' : 'down';
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
    if (!this.enabled || !this.route().l1) return undefined;
    const stored = this.l1.peek(key) as Stored<T> | undefined;
    if (stored === undefined) return undefined;
    const threshold = options?.refreshThreshold;
    if (threshold !== undefined && (stored.expires ?? Infinity) - Date.now() < threshold) {
      return undefined;
    }
    cacheTally(options?.cache ?? cacheNameOf(key)).hit++;
    return stored.value;
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
    const tally = cacheTally(options.cache ?? cacheNameOf(key));
    if (!this.enabled) {
      tally.miss++;
      return { value: await load(), status: 'miss' };
    }
    const route = this.route();
    if (this.redis && !route.l2) tally.error++;
    const read: ReadThrough<T> = { key, load, options, route, tally };
    let status: CacheReadStatus = 'hit';
    let stored = route.l1 ? (this.l1.peek(key) as Stored<T> | undefined) : undefined;
    if (stored === undefined) {
      let fill = this.fills.get(key);
      if (fill === undefined) {
        fill = this.startFill(read);
        status = 'miss';
      }
      const filled = (await fill.filled) as Filled<T>;
      stored = filled.stored;
      if (!filled.loaded) status = 'hit';
    }
    const threshold = options.refreshThreshold;
    if (
      status === 'hit' &&
      threshold !== undefined &&
      (stored.expires ?? Infinity) - Date.now() < threshold
    ) {
      status = 'stale';
      this.refresh(read);
    }
    tally[status]++;
    return { value: stored.value, status };
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
    let missing = [...new Set(keys)];
    if (!this.enabled) {
      tally.miss += missing.length;
      const loaded = await loadMissing(missing);
      return keys.map((key) => loaded.get(key));
    }
    const route = this.route();
    const found = new Map<string, T>();
    if (route.l1) missing = missing.filter((key) => !this.takeFromL1(key, found));
    const mark = this.writeLog.begin();
    try {
      let claim: FillClaim | undefined;
      if (missing.length > 0 && route.l2) {
        ({ missing, claim } = await this.takeFromRedis(missing, found, route, mark, tally));
      } else if (missing.length > 0 && this.redis) tally.error++;
      tally.hit += keys.length - missing.length;
      if (missing.length > 0) {
        tally.miss += missing.length;
        const loaded = await loadMissing(missing);
        for (const [key, value] of loaded) found.set(key, value);
        await this.storeMany(loaded, options.ttl ?? this.defaultTtlMs, route, mark, claim, tally);
      }
    } finally {
      this.writeLog.end();
    }
    return keys.map((key) => found.get(key));
  }

  /** Write-through: the next read of `key`, in any process, returns `value`. */
  set<T>(key: string, value: T, ttl?: number): Promise<void> {
    return this.setMany([{ key, value, ttl }]);
  }

  /**
   * Write-through of several entries in one pipeline; other processes drop their L1 copies,
   * and fills of these keys running anywhere no longer store what they loaded.
   */
  async setMany(entries: readonly CacheEntry[]): Promise<void> {
    if (entries.length === 0 || !this.enabled) return;
    let route = this.route();
    const list = entries.map(({ key, value, ttl }) => ({
      key,
      value,
      ttl: ttl ?? this.defaultTtlMs,
    }));
    const keys = list.map(({ key }) => key);
    this.overtake(keys);
    if (route.l2) {
      try {
        // Before the values: a fill storing between the two would otherwise overwrite them.
        await this.redis!.fence(keys);
      } catch {
        route = this.local;
      }
    }
    await route.cache.mset(list);
    await this.broadcast(keys, route);
  }

  /** Removes `keys` from every tier of every process. */
  async evict(keys: readonly string[]): Promise<void> {
    if (keys.length === 0 || !this.enabled) return;
    const route = this.route();
    this.dropLocal(keys);
    if (route.l2) {
      try {
        await this.redis!.delete(keys);
      } catch {
        this.defer(keys, this.pendingKeys);
        return;
      }
    }
    await this.broadcast(keys, route);
  }

  /** Removes every entry tagged with any of `tags`, in every tier of every process. */
  async evictTags(tags: readonly string[]): Promise<void> {
    if (tags.length === 0 || !this.enabled) return;
    const route = this.route();
    this.writeLog.evictedTags(tags);
    // Their tags are known once loaded: a reader from now on must not get their value.
    for (const [key, fill] of this.fills) if (fill.tagged) this.fills.delete(key);
    const keys = new Set(this.localTags.keysOf(tags));
    if (route.l2) {
      try {
        for (const key of await this.redis!.takeTagged(tags)) keys.add(key);
      } catch {
        this.defer(tags, this.pendingTags);
      }
    } else if (this.redis) {
      this.defer(tags, this.pendingTags);
    }
    await this.evict([...keys]);
  }

  /** Entries and approximate bytes held in this process. */
  localSize(): { entries: number; bytes: number } {
    return { entries: this.l1.size, bytes: this.l1.byteSize };
  }

  private route(): Route {
    if (!this.redis) return this.local;
    const available = this.redis.available;
    if (available !== this.redisWasAvailable) {
      this.redisWasAvailable = available;
      if (available) this.onRedisRecovered();
    }
    if (!available) return this.local;
    return this.bus!.ready ? this.tiered! : this.remote!;
  }

  /** Runs the fill of `key` that readers arriving meanwhile join. */
  private startFill<T>(read: ReadThrough<T>): RunningFill {
    const { key, options } = read;
    const mark = this.writeLog.begin();
    const fill: RunningFill = {
      filled: this.fill(read, mark).finally(() => {
        this.writeLog.end();
        if (this.fills.get(key) === fill) this.fills.delete(key);
      }),
      tagged: options.tags !== undefined,
    };
    this.fills.set(key, fill);
    return fill;
  }

  /**
   * Loads `key` unless another process is already loading it: then waits for its value, and
   * loads itself only if none comes within the wait (the holder died or failed). The holder
   * stores the value in Redis before releasing the lock, so waiters find the value, not the
   * lock.
   */
  private async fill<T>(read: ReadThrough<T>, mark: number): Promise<Filled<T>> {
    const { key, route, tally } = read;
    if (!route.l2) return this.loadAndStore(read, mark);
    const token = this.nextToken();
    const deadline = Date.now() + this.lockWaitMs;
    let claim: FillClaim | undefined;
    try {
      for (;;) {
        const outcome = await this.redis!.readOrLock(key, token);
        if (outcome.state === 'found') {
          const stored = outcome.stored as Stored<T>;
          if (route.l1 && !this.writeLog.overtaken(mark, key)) {
            void this.l1.set(key, stored, (stored.expires ?? Infinity) - Date.now());
          }
          return { stored, loaded: false };
        }
        claim = outcome.claim;
        if (outcome.state === 'locked' || Date.now() >= deadline) break;
        await sleep(LOCK_POLL_MS);
      }
    } catch {
      tally.error++;
    }
    return this.loadAndStore(read, mark, claim);
  }

  /**
   * Stale-while-revalidate: one background load per key and process (with Redis, per key:
   * the one that takes the fill lock), stored unless a write came meanwhile.
   */
  private refresh<T>(read: ReadThrough<T>): void {
    const { key, route } = read;
    if (this.refreshing.has(key)) return;
    this.refreshing.add(key);
    const mark = this.writeLog.begin();
    const run = async () => {
      let claim: FillClaim | undefined;
      if (route.l2) {
        const outcome = await this.redis!.readOrLock(key, this.nextToken(), true);
        if (outcome.state !== 'locked') return;
        claim = outcome.claim;
      }
      await this.loadAndStore(read, mark, claim);
    };
    run()
      .catch(() => undefined)
      .finally(() => {
        this.writeLog.end();
        this.refreshing.delete(key);
      });
  }

  /**
   * `load()`, then the value stored in the L1 and (with a claim) in Redis, unless a write or an
   * eviction of the key or of one of its tags came after the fill began (`mark` here, `claim`
   * in Redis).
   */
  private async loadAndStore<T>(
    { key, load, options, route, tally }: ReadThrough<T>,
    mark: number,
    claim?: FillClaim,
  ): Promise<Filled<T>> {
    let value: T;
    try {
      value = await load();
    } catch (error) {
      // Best effort: an unreleased lock expires by itself.
      if (claim?.locked) this.redis!.release(key, claim.token).catch(() => undefined);
      throw error;
    }
    const ttl = options.ttl ?? this.defaultTtlMs;
    const stored: Stored<T> = { value, expires: Date.now() + ttl };
    const tags = options.tags?.(value) ?? [];
    let keep = !this.writeLog.overtaken(mark, key, tags);
    if (claim !== undefined) {
      if (keep) {
        keep = await this.redis!.store(key, stored, ttl, tags, claim).catch(() => {
          tally.error++;
          return true;
        });
      } else if (claim.locked) {
        this.redis!.release(key, claim.token).catch(() => undefined);
      }
    }
    if (keep && route.l1) {
      void this.l1.set(key, stored, ttl);
      if (tags.length > 0) this.localTags.add(key, tags);
    }
    return { stored, loaded: true };
  }

  /** Stores what {@link wrapMany} loaded, as {@link loadAndStore} does. */
  private async storeMany<T>(
    loaded: ReadonlyMap<string, T>,
    ttl: number,
    route: Route,
    mark: number,
    claim: FillClaim | undefined,
    tally: CacheTally,
  ): Promise<void> {
    const expires = Date.now() + ttl;
    let entries: FilledEntry[] = [...loaded]
      .filter(([key]) => !this.writeLog.overtaken(mark, key))
      .map(([key, value]) => ({ key, stored: { value, expires }, ttl }));
    if (entries.length > 0 && claim !== undefined) {
      entries = await this.redis!.storeMany(entries, claim).catch(() => {
        tally.error++;
        return entries;
      });
    }
    if (route.l1) for (const { key, stored } of entries) void this.l1.set(key, stored, ttl);
  }

  private takeFromL1<T>(key: string, found: Map<string, T>): boolean {
    const stored = this.l1.peek(key) as Stored<T> | undefined;
    if (stored === undefined) return false;
    found.set(key, stored.value);
    return true;
  }

  /**
   * One read from Redis; what it finds also fills the L1.
   * @returns the keys still missing, and where their fill begins (none if Redis failed)
   */
  private async takeFromRedis<T>(
    keys: string[],
    found: Map<string, T>,
    route: Route,
    mark: number,
    tally: CacheTally,
  ): Promise<{ missing: string[]; claim?: FillClaim }> {
    let read: Awaited<ReturnType<RedisTier['readMany']>>;
    try {
      read = await this.redis!.readMany(keys);
    } catch {
      tally.error++;
      return { missing: keys };
    }
    const missing: string[] = [];
    const now = Date.now();
    keys.forEach((key, i) => {
      const entry = read.stored[i] as Stored<T> | undefined;
      if (entry === undefined) return missing.push(key);
      found.set(key, entry.value);
      if (route.l1 && !this.writeLog.overtaken(mark, key)) {
        void this.l1.set(key, entry, (entry.expires ?? Infinity) - now);
      }
    });
    return { missing, claim: read.claim };
  }

  /** Fills of `keys` running here store nothing, and later readers do not join them. */
  private overtake(keys: readonly string[]): void {
    this.writeLog.wroteKeys(keys);
    for (const key of keys) this.fills.delete(key);
  }

  /** `keys` were written or evicted, here or by another process. */
  private dropLocal(keys: readonly string[]): void {
    this.overtake(keys);
    for (const key of keys) this.l1.drop(key);
  }

  /** Invalidations may have been missed: nothing held or being filled here can be trusted. */
  private clearLocal(): void {
    this.writeLog.wroteAll();
    this.fills.clear();
    void this.l1.clear();
  }

  private nextToken(): string {
    return `${this.origin}:${++this.lockSequence}`;
  }

  /** Tells other processes to drop `keys` from their L1, or remembers to once Redis is back. */
  private async broadcast(keys: readonly string[], route: Route): Promise<void> {
    if (!this.redis) return;
    if (!route.l2) return this.defer(keys, this.pendingKeys);
    try {
      await this.bus!.publish(keys);
    } catch {
      this.defer(keys, this.pendingKeys);
    }
  }

  /**
   * Evictions that could not reach Redis are replayed when it is back; otherwise Redis would
   * serve what was current before the outage.
   */
  private defer(items: readonly string[], pending: Set<string>): void {
    for (const item of items) {
      if (pending.size >= MAX_PENDING_EVICTIONS) {
        this.logger.warn(`more than ${MAX_PENDING_EVICTIONS} evictions waiting for Redis: dropped`);
        return;
      }
      pending.add(item);
    }
  }

  /**
   * Redis is back (reconnected, or the breaker closed). Entries filled meanwhile may be stale:
   * other processes' writes did not reach us.
   */
  private onRedisRecovered(): void {
    this.clearLocal();
    const keys = [...this.pendingKeys];
    const tags = [...this.pendingTags];
    this.pendingKeys.clear();
    this.pendingTags.clear();
    Promise.all([this.evict(keys), this.evictTags(tags)]).catch((error: unknown) =>
      this.logger.warn(`replaying evictions after the outage failed: ${(error as Error).message}`),
    );
  }
}
