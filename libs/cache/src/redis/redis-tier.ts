import { performance } from 'node:perf_hooks';
import { Logger } from '@nestjs/common';
import { RedisCommands, RedisConnection, RedisConnectionOptions, withinTimeout } from '@app/redis';
import { defaultDeserialize, defaultSerialize } from '@keyv/serialize';
import { FENCE_TTL_MS } from '../cache.constants';
import { fenceKeyOf, lockKeyOf, tagKeysOf, valueKeyOf, writesKeyOf } from './cache-keys';
import { hashTagForSlot } from './hash-slots';
import { CACHE_SCRIPTS } from './scripts';

/** Options of {@link RedisTier}; durations in milliseconds. */
export interface RedisTierOptions {
  redis: RedisConnectionOptions;
  commandTimeoutMs: number;
  connectTimeoutMs: number;
  maxReconnectDelayMs: number;
  lockTtlMs: number;
}

/**
 * An entry as every tier keeps it: the value and when it expires (ms since the epoch). In
 * Redis it is serialized as Keyv does (`{"value":…,"expires":…}`), the stored format of
 * `loadstar:v2`.
 */
export interface StoredValue<T = unknown> {
  value: T;
  expires?: number;
}

/**
 * Where a fill began in Redis: the write counter and Redis's clock when it found the key
 * missing, and its lock token. A fill stores its value only if no write or eviction of the
 * key, and no eviction of a tag of the value, came after.
 */
export interface FillClaim {
  token: string;
  /** The fill holds the key's fill lock (else another process does). */
  locked: boolean;
  writes: string;
  startedAt: number;
  /** This process's clock (`performance.now()`) just before the fill began in Redis. */
  beganAt: number;
}

/**
 * Where a batch fill began, per hash slot of its keys (one slot on a single server): a write
 * counter and a clock are only comparable within a slot.
 */
export type BatchClaim = ReadonlyMap<number | undefined, Omit<FillClaim, 'token' | 'locked'>>;

/** Outcome of {@link RedisTier.readOrLock}. */
export type ReadOrLock =
  | { state: 'found'; stored: StoredValue }
  | { state: 'locked'; claim: FillClaim }
  | { state: 'busy'; claim?: FillClaim };

/** One entry of a batch fill ({@link RedisTier.storeMany}) or a write-through. */
export interface TierEntry {
  key: string;
  stored: StoredValue;
  ttl: number;
}

/** After this many failed commands in a row the tier is skipped for {@link BREAKER_OPEN_MS}. */
const BREAKER_FAILURES = 3;
const BREAKER_OPEN_MS = 1_000;

/** Keyv's stored form; `undefined` once expired by its own clock. */
function deserialize(raw: string): StoredValue | undefined {
  const stored = defaultDeserialize<StoredValue | undefined>(raw);
  if (typeof stored?.expires === 'number' && stored.expires <= Date.now()) return undefined;
  return stored;
}

/**
 * The shared tier: a connection with the app's Redis policy (`@app/redis`: no offline queue,
 * a connect timeout, reconnection with backoff) plus what keeps a dead or slow Redis from
 * holding a request (a timeout on every command, and a breaker that skips Redis for a second
 * after repeated failures), and the cache's commands, each one script (`./scripts`) run by
 * name.
 */
export class RedisTier {
  readonly connection: RedisConnection<typeof CACHE_SCRIPTS>;
  private readonly client: RedisCommands<typeof CACHE_SCRIPTS>;
  private readonly logger = new Logger('Cache');
  private consecutiveFailures = 0;
  private breakerOpenUntil = 0;
  private down = false;

  /**
   * @param onFailure called for every failed command (not for connection errors, which the
   *   client reports once per reconnection attempt).
   */
  constructor(
    private readonly options: RedisTierOptions,
    private readonly onFailure: (error: unknown) => void,
  ) {
    // the slot table is built at start, not by the first request that needs it
    if ('clusterNodes' in options.redis) hashTagForSlot(0);
    this.connection = new RedisConnection(options.redis, 'cache', CACHE_SCRIPTS, {
      connectTimeoutMs: options.connectTimeoutMs,
      maxReconnectDelayMs: options.maxReconnectDelayMs,
    });
    this.client = this.connection.client;
    this.connection.on('down', (error) => this.onConnectionError(error));
    this.connection.on('ready', () => this.onReady());
  }

  /** Connected, and not skipped by the breaker. */
  get available(): boolean {
    return this.connection.isReady && Date.now() >= this.breakerOpenUntil;
  }

  /**
   * Connects, waiting at most the connect timeout: the app starts without Redis and uses it
   * once the connection (which keeps retrying) gets through.
   */
  connect(): Promise<void> {
    return this.connection.connect();
  }

  close(): void {
    this.connection.destroy();
  }

  /**
   * The value of `key`, or the fill lock (`token` identifies the holder). With `refresh`, an
   * entry present is not read: the caller means to replace it.
   */
  async readOrLock(key: string, token: string, refresh = false): Promise<ReadOrLock> {
    const beganAt = performance.now();
    const reply = await this.run(() =>
      this.client.cacheReadOrLock({
        writesKey: this.writesKeyOf(key),
        valueKey: valueKeyOf(key),
        lockKey: lockKeyOf(key),
        token,
        lockTtlMs: this.options.lockTtlMs,
        refresh,
      }),
    );
    if (reply.found === undefined) {
      const claim = {
        token,
        locked: reply.locked,
        writes: reply.writes,
        startedAt: reply.startedAt,
        beganAt,
      };
      return reply.locked ? { state: 'locked', claim } : { state: 'busy', claim };
    }
    const stored = deserialize(reply.found);
    // Expired by Keyv's clock, not yet by Redis's: another process is about to refill it.
    if (stored === undefined) return { state: 'busy' };
    return { state: 'found', stored };
  }

  /**
   * A fill's store, with its tags, and the release of its lock. On Redis Cluster the tags
   * outside the key's slot are joined first ({@link joinTags}): a second round trip, only for
   * tagged values.
   * @returns false when a write or an eviction of the key or of a tag came after the fill
   *   began: nothing was stored, and the loaded value is older than what the cache holds.
   */
  async store(entry: TierEntry, tags: readonly string[], claim: FillClaim): Promise<boolean> {
    const slot = this.slotOf(entry.key);
    const elsewhere = tags.filter((tag) => this.slotOf(tag) !== slot);
    const here = elsewhere.length === 0 ? tags : tags.filter((tag) => this.slotOf(tag) === slot);
    if (elsewhere.length > 0 && !(await this.joinTags(entry, elsewhere, claim))) {
      if (claim.locked) await this.release(entry.key, claim.token);
      return false;
    }
    return this.run(() =>
      this.client.cacheStoreFill({
        writesKey: this.writesKeyOf(entry.key),
        lockKey: lockKeyOf(entry.key),
        valueKey: valueKeyOf(entry.key),
        fenceKey: fenceKeyOf(entry.key),
        tags: here.map(tagKeysOf),
        began: claim.writes,
        startedAt: claim.startedAt,
        fenceTtlMs: FENCE_TTL_MS,
        token: claim.token,
        value: defaultSerialize(entry.stored),
        ttlMs: entry.ttl,
        key: entry.key,
      }),
    );
  }

  /**
   * One read of many keys (one script per hash slot on Redis Cluster), and where the fill of
   * those missing begins.
   * @returns the values in the order of `keys`, `undefined` where missing
   */
  async readMany(keys: readonly string[]): Promise<{
    stored: Array<StoredValue | undefined>;
    claim: BatchClaim;
  }> {
    const groups = this.bySlot(keys, (key) => key);
    const beganAt = performance.now();
    const replies = await this.run(() =>
      Promise.all(
        [...groups].map(([slot, group]) =>
          this.client.cacheReadMany({
            writesKey: this.writesKeyOfSlot(slot),
            valueKeys: group.map(valueKeyOf),
          }),
        ),
      ),
    );
    const claim = new Map<number | undefined, Omit<FillClaim, 'token' | 'locked'>>();
    const found = new Map<string, string | null>();
    [...groups].forEach(([slot, group], g) => {
      const { writes, startedAt, values } = replies[g];
      claim.set(slot, { writes, startedAt, beganAt });
      group.forEach((key, i) => found.set(key, values[i]));
    });
    const stored = keys.map((key) => {
      const raw = found.get(key);
      return raw === null || raw === undefined ? undefined : deserialize(raw);
    });
    return { stored, claim };
  }

  /**
   * A batch fill's store: each entry not written or evicted since `claim`.
   * @returns the entries stored
   */
  async storeMany(entries: readonly TierEntry[], claim: BatchClaim): Promise<TierEntry[]> {
    const groups = [...this.bySlot(entries, ({ key }) => key)].filter(([slot]) => claim.has(slot));
    const replies = await this.run(() =>
      Promise.all(
        groups.map(([slot, group]) => {
          const { writes, startedAt } = claim.get(slot)!;
          return this.client.cacheStoreMany({
            writesKey: this.writesKeyOfSlot(slot),
            entries: group.map(toScriptEntry),
            began: writes,
            startedAt,
            fenceTtlMs: FENCE_TTL_MS,
          });
        }),
      ),
    );
    return groups.flatMap(([, group], g) => group.filter((_, i) => replies[g][i]));
  }

  /**
   * A write-through: the entries fenced, then stored, so a fill that began earlier no longer
   * stores what it loaded over the value written.
   */
  async write(entries: readonly TierEntry[]): Promise<void> {
    const groups = this.bySlot(entries, ({ key }) => key);
    await this.run(() =>
      Promise.all(
        [...groups].map(([slot, group]) =>
          this.client.cacheWrite({
            writesKey: this.writesKeyOfSlot(slot),
            entries: group.map(toScriptEntry),
            fenceTtlMs: FENCE_TTL_MS,
          }),
        ),
      ),
    );
  }

  /** Deletes entries and fences them (not their L1 copies: see the invalidation bus). */
  async delete(keys: readonly string[]): Promise<void> {
    const groups = this.bySlot(keys, (key) => key);
    await this.run(() =>
      Promise.all(
        [...groups].map(([slot, group]) =>
          this.client.cacheEvict({
            writesKey: this.writesKeyOfSlot(slot),
            entries: group.map((key) => ({ valueKey: valueKeyOf(key), fenceKey: fenceKeyOf(key) })),
            fenceTtlMs: FENCE_TTL_MS,
          }),
        ),
      ),
    );
  }

  async release(key: string, token: string): Promise<void> {
    await this.run(() => this.client.cacheReleaseLock({ lockKey: lockKeyOf(key), token }));
  }

  /**
   * The keys tagged with any of `tags`; the tag sets are deleted and the tags fenced at once,
   * so a fill of an entry tagged with one of them, running now, does not store it.
   */
  async takeTagged(tags: readonly string[]): Promise<string[]> {
    const groups = this.bySlot(tags, (tag) => tag);
    const members = await this.run(() =>
      Promise.all(
        [...groups.values()].map((group) =>
          this.client.cacheTakeTagged({ tags: group.map(tagKeysOf), fenceTtlMs: FENCE_TTL_MS }),
        ),
      ),
    );
    return [...new Set(members.flat())];
  }

  /** Sharded (`SPUBLISH`) on Redis Cluster: plain pub/sub there reaches every node. */
  async publish(channel: string, message: string): Promise<void> {
    await this.run(() =>
      this.connection.cluster
        ? this.client.sPublish(channel, message)
        : this.client.publish(channel, message),
    );
  }

  /**
   * Joins the sets of tags that live in other slots than the key (one script per slot),
   * before the value is stored: from then on an eviction of the tag finds the key. An
   * eviction of one of them since the fill began may have taken the set before the key was
   * in it: it is younger than the fill's own duration, measured here from just before the
   * fill's first script (so it covers the whole span), and the fill then stores nothing.
   */
  private async joinTags(
    { key, ttl }: TierEntry,
    tags: readonly string[],
    claim: FillClaim,
  ): Promise<boolean> {
    const groups = this.bySlot(tags, (tag) => tag);
    const ages = await this.run(() =>
      Promise.all(
        [...groups.values()].map((group) =>
          this.client.cacheJoinTags({ tags: group.map(tagKeysOf), key, ttlMs: ttl }),
        ),
      ),
    );
    const elapsed = performance.now() - claim.beganAt;
    return ages.every((age) => age < 0 || age > elapsed);
  }

  /**
   * The hash slot of a cache key or tag (each is the hash tag of its Redis keys), where its
   * scripts go on Redis Cluster; `undefined` elsewhere (one group, one write counter).
   */
  private slotOf(keyOrTag: string): number | undefined {
    return this.connection.slotOf(`{${keyOrTag}}`);
  }

  private writesKeyOf(key: string): string {
    return this.writesKeyOfSlot(this.slotOf(key));
  }

  private writesKeyOfSlot(slot: number | undefined): string {
    return writesKeyOf(slot, hashTagForSlot);
  }

  /** `items` by the hash slot of their key: one group (slot `undefined`) on one server. */
  private bySlot<T>(items: readonly T[], keyOf: (item: T) => string): Map<number | undefined, T[]> {
    const groups = new Map<number | undefined, T[]>();
    for (const item of items) {
      const slot = this.slotOf(keyOf(item));
      const group = groups.get(slot);
      if (group === undefined) groups.set(slot, [item]);
      else group.push(item);
    }
    return groups;
  }

  /** A command of ours: counted against the breaker, rethrown for the caller to degrade. */
  private async run<T>(command: () => Promise<T>): Promise<T> {
    try {
      const result = await withinTimeout(command(), this.options.commandTimeoutMs);
      this.consecutiveFailures = 0;
      return result;
    } catch (error) {
      this.recordFailure(error);
      throw error;
    }
  }

  private recordFailure(error: unknown): void {
    this.onFailure(error);
    if (++this.consecutiveFailures >= BREAKER_FAILURES) {
      this.consecutiveFailures = 0;
      this.breakerOpenUntil = Date.now() + BREAKER_OPEN_MS;
    }
  }

  private onConnectionError(error: Error): void {
    if (this.down) return;
    this.down = true;
    this.logger.warn(`Redis unreachable (${error.message}): caching in process only, reconnecting`);
  }

  private onReady(): void {
    this.consecutiveFailures = 0;
    this.breakerOpenUntil = 0;
    if (!this.down) return;
    this.down = false;
    this.logger.log('Redis reachable again: shared cache resumed');
  }
}

function toScriptEntry({ key, stored, ttl }: TierEntry) {
  return {
    valueKey: valueKeyOf(key),
    fenceKey: fenceKeyOf(key),
    value: defaultSerialize(stored),
    ttlMs: ttl,
  };
}
