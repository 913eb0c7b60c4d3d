import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { LOCK_POLL_MS } from '../cache.constants';
import { CacheTally } from '../cache.metrics';
import { LocalWriteLog } from '../coherence/local-write-log';
import { CacheRead, CacheReadOptions, CacheReadStatus, CacheReadTier } from '../interfaces';
import { MemoryLruStore, MemoryTagIndex } from '../memory';
import { BatchClaim, FillClaim, RedisTier, StoredValue, TierEntry } from '../redis';
import { Route } from './route';

/** What {@link ReadThrough} works with. */
export interface ReadThroughOptions {
  l1: MemoryLruStore;
  localTags: MemoryTagIndex;
  writeLog: LocalWriteLog;
  redis?: RedisTier;
  defaultTtlMs: number;
  /** How long a process waits for another's fill before loading itself. */
  lockWaitMs: number;
}

/** What a fill brought: a value loaded here, or found in Redis. */
interface Filled<T> {
  stored: StoredValue<T>;
  loaded: boolean;
}

/** One read-through of a key: what its fill or refresh needs. */
interface Read<T> {
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

/**
 * Read-through with stampede protection: one load per key for all concurrent readers of the
 * process (they join its running fill) and, with Redis, of all processes (a fill lock lets
 * one load while the others poll for its value); stale-while-revalidate; and stores that
 * never overwrite a newer write (the local write log here, fences in Redis).
 */
export class ReadThrough {
  private readonly origin = randomUUID();
  private readonly fills = new Map<string, RunningFill>();
  private readonly refreshing = new Set<string>();
  private lockSequence = 0;

  constructor(private readonly options: ReadThroughOptions) {}

  /** See `CacheService.wrap`; `route` and `tally` come from the caller. */
  async wrap<T>(
    key: string,
    load: () => Promise<T>,
    options: CacheReadOptions<T>,
    route: Route,
    tally: CacheTally,
  ): Promise<CacheRead<T>> {
    const read: Read<T> = { key, load, options, route, tally };
    let status: CacheReadStatus = 'hit';
    let tier: CacheReadTier = 'memory';
    let stored = route.l1 ? (this.options.l1.peek(key) as StoredValue<T> | undefined) : undefined;
    if (stored === undefined) {
      let fill = this.fills.get(key);
      if (fill === undefined) {
        fill = this.startFill(read);
        status = 'miss';
      }
      const filled = (await fill.filled) as Filled<T>;
      stored = filled.stored;
      if (!filled.loaded) status = 'hit';
      tier = filled.loaded ? 'origin' : 'redis';
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
    return { value: stored.value, status, tier };
  }

  /** See `CacheService.wrapMany`. */
  async wrapMany<T>(
    keys: readonly string[],
    loadMissing: (missing: string[]) => Promise<ReadonlyMap<string, T>>,
    ttl: number,
    route: Route,
    tally: CacheTally,
  ): Promise<Map<string, T>> {
    const found = new Map<string, T>();
    let missing = [...new Set(keys)];
    if (route.l1) missing = missing.filter((key) => !this.takeFromL1(key, found));
    const { writeLog, redis } = this.options;
    const mark = writeLog.begin();
    try {
      let claim: BatchClaim | undefined;
      if (missing.length > 0 && route.l2) {
        ({ missing, claim } = await this.takeFromRedis(missing, found, route, mark, tally));
      } else if (missing.length > 0 && redis) tally.error++;
      tally.hit += keys.length - missing.length;
      if (missing.length > 0) {
        tally.miss += missing.length;
        const loaded = await loadMissing(missing);
        for (const [key, value] of loaded) found.set(key, value);
        await this.storeMany(loaded, ttl, route, mark, claim, tally);
      }
    } finally {
      writeLog.end();
    }
    return found;
  }

  /**
   * The cached values of `keys`, without loading: the L1, then one read of the rest from
   * Redis (which fills the L1).
   */
  async readMany<T>(keys: string[], route: Route, tally: CacheTally): Promise<Map<string, T>> {
    const found = new Map<string, T>();
    const missing = route.l1 ? keys.filter((key) => !this.takeFromL1(key, found)) : keys;
    if (missing.length === 0 || !route.l2) return found;
    const { writeLog } = this.options;
    const mark = writeLog.begin();
    try {
      await this.takeFromRedis(missing, found, route, mark, tally);
    } finally {
      writeLog.end();
    }
    return found;
  }

  /** Fills of `keys` running here are left alone by later readers. */
  forget(keys: readonly string[]): void {
    for (const key of keys) this.fills.delete(key);
  }

  /** Fills of tagged values: their tags are known only once loaded, so any may be evicted. */
  forgetTagged(): void {
    for (const [key, fill] of this.fills) if (fill.tagged) this.fills.delete(key);
  }

  forgetAll(): void {
    this.fills.clear();
  }

  /** Runs the fill of `key` that readers arriving meanwhile join. */
  private startFill<T>(read: Read<T>): RunningFill {
    const { key, options } = read;
    const { writeLog } = this.options;
    const mark = writeLog.begin();
    const fill: RunningFill = {
      filled: this.fill(read, mark).finally(() => {
        writeLog.end();
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
  private async fill<T>(read: Read<T>, mark: number): Promise<Filled<T>> {
    const { key, route, tally } = read;
    if (!route.l2) return this.loadAndStore(read, mark);
    const token = this.nextToken();
    const deadline = Date.now() + this.options.lockWaitMs;
    let claim: FillClaim | undefined;
    try {
      for (;;) {
        const outcome = await this.options.redis!.readOrLock(key, token);
        if (outcome.state === 'found') {
          const stored = outcome.stored as StoredValue<T>;
          if (route.l1 && !this.options.writeLog.overtaken(mark, key)) {
            this.options.l1.set(key, stored, (stored.expires ?? Infinity) - Date.now());
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
  private refresh<T>(read: Read<T>): void {
    const { key, route } = read;
    if (this.refreshing.has(key)) return;
    this.refreshing.add(key);
    const { writeLog } = this.options;
    const mark = writeLog.begin();
    const run = async () => {
      let claim: FillClaim | undefined;
      if (route.l2) {
        const outcome = await this.options.redis!.readOrLock(key, this.nextToken(), true);
        if (outcome.state !== 'locked') return;
        claim = outcome.claim;
      }
      await this.loadAndStore(read, mark, claim);
    };
    run()
      .catch(() => undefined)
      .finally(() => {
        writeLog.end();
        this.refreshing.delete(key);
      });
  }

  /**
   * `load()`, then the value stored in the L1 and (with a claim) in Redis, unless a write or an
   * eviction of the key or of one of its tags came after the fill began (`mark` here, `claim`
   * in Redis).
   */
  private async loadAndStore<T>(
    { key, load, options, route, tally }: Read<T>,
    mark: number,
    claim?: FillClaim,
  ): Promise<Filled<T>> {
    const { redis, l1, localTags, writeLog } = this.options;
    let value: T;
    try {
      value = await load();
    } catch (error) {
      // Best effort: an unreleased lock expires by itself.
      if (claim?.locked) redis!.release(key, claim.token).catch(() => undefined);
      throw error;
    }
    const ttl = options.ttl ?? this.options.defaultTtlMs;
    const stored: StoredValue<T> = { value, expires: Date.now() + ttl };
    const tags = options.tags?.(value) ?? [];
    let keep = !writeLog.overtaken(mark, key, tags);
    if (claim !== undefined) {
      if (keep) {
        keep = await redis!.store({ key, stored, ttl }, tags, claim).catch(() => {
          tally.error++;
          return true;
        });
      } else if (claim.locked) {
        redis!.release(key, claim.token).catch(() => undefined);
      }
    }
    if (keep && route.l1) {
      l1.set(key, stored, ttl);
      if (tags.length > 0) localTags.add(key, tags);
    }
    return { stored, loaded: true };
  }

  /** Stores what {@link wrapMany} loaded, as {@link loadAndStore} does. */
  private async storeMany<T>(
    loaded: ReadonlyMap<string, T>,
    ttl: number,
    route: Route,
    mark: number,
    claim: BatchClaim | undefined,
    tally: CacheTally,
  ): Promise<void> {
    const expires = Date.now() + ttl;
    let entries: TierEntry[] = [...loaded]
      .filter(([key]) => !this.options.writeLog.overtaken(mark, key))
      .map(([key, value]) => ({ key, stored: { value, expires }, ttl }));
    if (entries.length > 0 && claim !== undefined) {
      entries = await this.options.redis!.storeMany(entries, claim).catch(() => {
        tally.error++;
        return entries;
      });
    }
    if (route.l1) for (const { key, stored } of entries) this.options.l1.set(key, stored, ttl);
  }

  private takeFromL1<T>(key: string, found: Map<string, T>): boolean {
    const stored = this.options.l1.peek(key) as StoredValue<T> | undefined;
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
  ): Promise<{ missing: string[]; claim?: BatchClaim }> {
    let read: Awaited<ReturnType<RedisTier['readMany']>>;
    try {
      read = await this.options.redis!.readMany(keys);
    } catch {
      tally.error++;
      return { missing: keys };
    }
    const missing: string[] = [];
    const now = Date.now();
    keys.forEach((key, i) => {
      const entry = read.stored[i] as StoredValue<T> | undefined;
      if (entry === undefined) return missing.push(key);
      found.set(key, entry.value);
      if (route.l1 && !this.options.writeLog.overtaken(mark, key)) {
        this.options.l1.set(key, entry, (entry.expires ?? Infinity) - now);
      }
    });
    return { missing, claim: read.claim };
  }

  private nextToken(): string {
    return `${this.origin}:${++this.lockSequence}`;
  }
}
