import { Logger } from '@nestjs/common';
import { EVICTION_RETRY_MS, MAX_PENDING_EVICTIONS } from '../cache.constants';
import { MemoryLruStore, MemoryTagIndex } from '../memory';
import { ReadThrough, Route } from '../read-through';
import { RedisTier, TierEntry } from '../redis';
import { InvalidationBus } from './invalidation-bus';
import { LocalWriteLog } from './local-write-log';

/** What {@link Coherence} keeps coherent. */
export interface CoherenceOptions {
  l1: MemoryLruStore;
  localTags: MemoryTagIndex;
  writeLog: LocalWriteLog;
  readThrough: ReadThrough;
  redis?: RedisTier;
  connectTimeoutMs: number;
}

const LOCAL: Route = { l1: true, l2: false };
const TIERED: Route = { l1: true, l2: true };
/** Redis without the invalidation bus: the L1 might miss other processes' writes. */
const REMOTE: Route = { l1: false, l2: true };

/**
 * Coherence and invalidation: writes and evictions reach every tier of every process. A
 * write or an eviction fences the key in Redis and tells the other processes, over the
 * invalidation bus, to drop their L1 copies; fills running anywhere that began before it
 * store nothing. Evictions that could not reach Redis are remembered and replayed: once it is
 * back from an outage (the L1, which may have missed invalidations, is cleared then), or
 * within {@link EVICTION_RETRY_MS} when a single command failed while it stayed up.
 */
export class Coherence {
  private readonly logger = new Logger('Cache');
  private readonly bus?: InvalidationBus;
  private readonly pendingKeys = new Set<string>();
  private readonly pendingTags = new Set<string>();
  private redisWasAvailable = true;
  private retryTimer?: NodeJS.Timeout;

  constructor(private readonly options: CoherenceOptions) {
    if (options.redis === undefined) return;
    this.bus = new InvalidationBus(
      options.redis,
      options.connectTimeoutMs,
      (keys) => this.dropLocal(keys),
      () => this.clearLocal(),
    );
  }

  /** Invalidations reach this process (always so without Redis). */
  get listening(): boolean {
    return this.bus?.ready ?? true;
  }

  start(): Promise<void> {
    return this.bus?.start() ?? Promise.resolve();
  }

  close(): void {
    clearTimeout(this.retryTimer);
    this.bus?.close();
  }

  /**
   * Where reads and writes go now: the L1 alone without Redis (or while it is away), Redis
   * alone while the bus is down, both otherwise. Notices Redis's return.
   */
  route(): Route {
    const { redis } = this.options;
    if (!redis) return LOCAL;
    const available = redis.available;
    if (available !== this.redisWasAvailable) {
      this.redisWasAvailable = available;
      if (available) this.onRedisRecovered();
    }
    if (!available) return LOCAL;
    return this.bus!.ready ? TIERED : REMOTE;
  }

  /** Write-through: the next read of each key, in any process, returns its value. */
  async write(entries: readonly TierEntry[]): Promise<void> {
    let route = this.route();
    const keys = entries.map(({ key }) => key);
    this.overtake(keys);
    if (route.l2) {
      try {
        await this.options.redis!.write(entries);
      } catch {
        route = LOCAL;
      }
    }
    if (route.l1) for (const { key, stored, ttl } of entries) this.options.l1.set(key, stored, ttl);
    await this.broadcast(keys, route);
  }

  /** Removes `keys` from every tier of every process. */
  async evict(keys: readonly string[]): Promise<void> {
    const route = this.route();
    this.dropLocal(keys);
    if (route.l2) {
      try {
        await this.options.redis!.delete(keys);
      } catch {
        this.defer(keys, this.pendingKeys);
        return;
      }
    }
    await this.broadcast(keys, route);
  }

  /** Removes every entry tagged with any of `tags`, in every tier of every process. */
  async evictTags(tags: readonly string[]): Promise<void> {
    const route = this.route();
    const { writeLog, readThrough, localTags, redis } = this.options;
    writeLog.evictedTags(tags);
    readThrough.forgetTagged();
    const keys = new Set(localTags.keysOf(tags));
    if (route.l2) {
      try {
        for (const key of await redis!.takeTagged(tags)) keys.add(key);
      } catch {
        this.defer(tags, this.pendingTags);
      }
    } else if (redis) {
      this.defer(tags, this.pendingTags);
    }
    if (keys.size > 0) await this.evict([...keys]);
  }

  /** Fills of `keys` running here store nothing, and later readers do not join them. */
  private overtake(keys: readonly string[]): void {
    this.options.writeLog.wroteKeys(keys);
    this.options.readThrough.forget(keys);
  }

  /** `keys` were written or evicted, here or by another process. */
  private dropLocal(keys: readonly string[]): void {
    this.overtake(keys);
    for (const key of keys) this.options.l1.drop(key);
  }

  /** Invalidations may have been missed: nothing held or being filled here can be trusted. */
  private clearLocal(): void {
    this.options.writeLog.wroteAll();
    this.options.readThrough.forgetAll();
    this.options.l1.clear();
  }

  /** Tells other processes to drop `keys` from their L1, or remembers to once Redis is back. */
  private async broadcast(keys: readonly string[], route: Route): Promise<void> {
    if (!this.bus) return;
    if (!route.l2) return this.defer(keys, this.pendingKeys);
    try {
      await this.bus.publish(keys);
    } catch {
      this.defer(keys, this.pendingKeys);
    }
  }

  /**
   * Evictions that could not reach Redis are replayed; otherwise Redis, and the L1 of the
   * processes never told, would serve what was current before.
   */
  private defer(items: readonly string[], pending: Set<string>): void {
    for (const item of items) {
      if (pending.size >= MAX_PENDING_EVICTIONS) {
        this.logger.warn(`more than ${MAX_PENDING_EVICTIONS} evictions waiting for Redis: dropped`);
        break;
      }
      pending.add(item);
    }
    this.retryTimer ??= setTimeout(() => this.retry(), EVICTION_RETRY_MS).unref();
  }

  /** Replays now if Redis is up; after an outage, {@link onRedisRecovered} does. */
  private retry(): void {
    this.retryTimer = undefined;
    if (this.route().l2) this.replay();
  }

  /**
   * Redis is back (reconnected, or the breaker closed). Entries filled meanwhile may be stale:
   * other processes' writes did not reach us.
   */
  private onRedisRecovered(): void {
    this.clearLocal();
    this.replay();
  }

  /** Evicts what is pending; what fails again is deferred again. */
  private replay(): void {
    const keys = [...this.pendingKeys];
    const tags = [...this.pendingTags];
    this.pendingKeys.clear();
    this.pendingTags.clear();
    const replays = [keys.length > 0 && this.evict(keys), tags.length > 0 && this.evictTags(tags)];
    Promise.all(replays).catch((error: unknown) =>
      this.logger.warn(`replaying evictions failed: ${(error as Error).message}`),
    );
  }
}
