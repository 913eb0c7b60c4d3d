import { setTimeout as sleep } from 'node:timers/promises';
import { Logger } from '@nestjs/common';
import KeyvRedis, { KeyvRedisOptions } from '@keyv/redis';
import { createClient } from '@redis/client';
import { Keyv, KeyvEntry } from 'keyv';
import {
  CACHE_FENCE_PREFIX,
  CACHE_LOCK_PREFIX,
  CACHE_NAMESPACE,
  CACHE_TAG_PREFIX,
  CACHE_WRITES_KEY,
  FENCE_TTL_MS,
} from '../cache.constants';

/** The node-redis client the cache uses. */
export type RedisClient = ReturnType<typeof createClient>;

/** Options of {@link RedisTier}; durations in milliseconds. */
export interface RedisTierOptions {
  url: string;
  commandTimeoutMs: number;
  connectTimeoutMs: number;
  maxReconnectDelayMs: number;
  lockTtlMs: number;
}

/** What Keyv keeps for a value. */
export interface StoredValue {
  value: unknown;
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
}

/** Outcome of {@link RedisTier.readOrLock}. */
export type ReadOrLock =
  | { state: 'found'; stored: StoredValue }
  | { state: 'locked'; claim: FillClaim }
  | { state: 'busy'; claim?: FillClaim };

/** One value of a batch fill ({@link RedisTier.storeMany}). */
export interface FilledEntry {
  key: string;
  stored: StoredValue;
  ttl: number;
}

/** A command of the cache's that Redis did not answer within the command timeout. */
export class RedisCommandTimeoutError extends Error {
  constructor(timeoutMs: number) {
    super(`Redis did not answer within ${timeoutMs} ms`);
  }
}

/**
 * `operation`, or a {@link RedisCommandTimeoutError} after `timeoutMs`. node-redis's own
 * command timeout only covers the wait before the command is written: a Redis that accepted
 * the connection but stopped answering (frozen, overloaded, a half-open socket) would hold
 * every command, and the request behind it, forever.
 */
function within<T>(operation: Promise<T>, timeoutMs: number): Promise<T> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new RedisCommandTimeoutError(timeoutMs)), timeoutMs);
    operation.then(
      (value) => {
        clearTimeout(timer);
        resolve(value);
      },
      (error: unknown) => {
        clearTimeout(timer);
        reject(error);
      },
    );
  });
}

/**
 * The `@keyv/redis` store with every operation bounded by the command timeout. Like the store
 * itself (`throwOnErrors: false`), a timed-out operation is reported as an `error` event and
 * answers as a miss, so cache-manager carries on with the next tier or the loader.
 */
class BoundedKeyvRedis extends KeyvRedis<string> {
  constructor(
    client: RedisClient,
    options: KeyvRedisOptions,
    private readonly timeoutMs: number,
  ) {
    super(client, options);
  }

  override get<U = string>(key: string): Promise<U | undefined> {
    return this.bounded(super.get<U>(key), undefined);
  }

  override getMany<U = string>(keys: string[]): Promise<Array<U | undefined>> {
    return this.bounded(super.getMany<U>(keys), new Array<U | undefined>(keys.length));
  }

  override set(key: string, value: string, ttl?: number): Promise<void> {
    return this.bounded(super.set(key, value, ttl), undefined);
  }

  override setMany(entries: KeyvEntry[]): Promise<void> {
    return this.bounded(super.setMany(entries), undefined);
  }

  override has(key: string): Promise<boolean> {
    return this.bounded(super.has(key), false);
  }

  override delete(key: string): Promise<boolean> {
    return this.bounded(super.delete(key), false);
  }

  override deleteMany(keys: string[]): Promise<boolean> {
    return this.bounded(super.deleteMany(keys), false);
  }

  private bounded<T>(operation: Promise<T>, fallback: T): Promise<T> {
    return within(operation, this.timeoutMs).catch((error: unknown) => {
      this.emit('error', error);
      return fallback;
    });
  }
}

/** After this many failed commands in a row the tier is skipped for {@link BREAKER_OPEN_MS}. */
const BREAKER_FAILURES = 3;
const BREAKER_OPEN_MS = 1_000;

/** Redis's clock in ms; `now_ms()` in the scripts below. */
const NOW_MS_LUA = `
local function now_ms()
  local time = redis.call('TIME')
  return time[1] * 1000 + math.floor(time[2] / 1000)
end`;

/**
 * The value if the key is filled (unless ARGV[3] asks to refresh it regardless), else the fill
 * lock (`SET NX PX`) if nobody holds it, and in either case where the fill begins (see
 * {@link FillClaim}): one round trip, and no gap between "not there" and "mine to fill".
 */
const READ_OR_LOCK_SCRIPT = `${NOW_MS_LUA}
if ARGV[3] ~= '1' then
  local value = redis.call('GET', KEYS[1])
  if value then return {1, value} end
end
local locked = redis.call('SET', KEYS[2], ARGV[1], 'NX', 'PX', ARGV[2])
return {locked and 2 or 0, redis.call('GET', KEYS[3]) or '0', now_ms()}`;

/**
 * Whether a fill that began at write count ARGV[1] and Redis time ARGV[2] may still store:
 * \`fill_current()\` unless Redis lost its data since (the counter went back) or the fill is
 * older than the fences' lifetime ARGV[3] (a fence set after it began may have expired), and
 * \`unfenced(i)\` unless the fence KEYS[i] was set after it began.
 */
const FILL_CHECKS_LUA = `${NOW_MS_LUA}
local began = tonumber(ARGV[1])
local function fill_current()
  return now_ms() - tonumber(ARGV[2]) < tonumber(ARGV[3])
    and tonumber(redis.call('GET', KEYS[1]) or '0') >= began
end
local function unfenced(i)
  return tonumber(redis.call('GET', KEYS[i]) or '0') <= began
end`;

/**
 * The fill's store. KEYS: the write counter, the lock, the value, its fence, then per tag its
 * set and its fence; ARGV: began, started at, fence lifetime, lock token, the value, its TTL,
 * the cache key. Stores and tags the value only if nothing was written or evicted since the
 * fill began; releases the lock if the fill holds it.
 */
const STORE_SCRIPT = `${FILL_CHECKS_LUA}
local stored = fill_current() and unfenced(4)
for i = 6, #KEYS, 2 do stored = stored and unfenced(i) end
if stored then
  redis.call('SET', KEYS[3], ARGV[5], 'PX', ARGV[6])
  for i = 5, #KEYS, 2 do
    redis.call('SADD', KEYS[i], ARGV[7])
    redis.call('PEXPIRE', KEYS[i], ARGV[6], 'NX')
    redis.call('PEXPIRE', KEYS[i], ARGV[6], 'GT')
  end
end
if redis.call('GET', KEYS[2]) == ARGV[4] then redis.call('DEL', KEYS[2]) end
return stored and 1 or 0`;

/** A batch read: where the fill of the missing keys begins, then the values (KEYS 2…). */
const READ_MANY_SCRIPT = `${NOW_MS_LUA}
local reply = {redis.call('GET', KEYS[1]) or '0', now_ms()}
for i = 2, #KEYS do reply[i + 1] = redis.call('GET', KEYS[i]) end
return reply`;

/**
 * A batch fill's store. KEYS: the write counter, then per entry its value and its fence;
 * ARGV: began, started at, fence lifetime, then per entry the value and its TTL. Stores each
 * entry not written or evicted since the fill began; returns 1 or 0 for each.
 */
const STORE_MANY_SCRIPT = `${FILL_CHECKS_LUA}
local current = fill_current()
local stored = {}
for entry = 1, (#KEYS - 1) / 2 do
  stored[entry] = 0
  if current and unfenced(2 * entry + 1) then
    redis.call('SET', KEYS[2 * entry], ARGV[2 + 2 * entry], 'PX', ARGV[3 + 2 * entry])
    stored[entry] = 1
  end
end
return stored`;

/**
 * A write-through's fences: KEYS[1] the write counter, the rest fences, each set to the
 * counter's next value for ARGV[1] ms.
 */
const FENCE_SCRIPT = `
local written = redis.call('INCR', KEYS[1])
for i = 2, #KEYS do redis.call('SET', KEYS[i], written, 'PX', ARGV[1]) end
return written`;

/** An eviction: KEYS[1] the write counter, then per key its value (deleted) and its fence. */
const EVICT_SCRIPT = `
local written = redis.call('INCR', KEYS[1])
for i = 2, #KEYS, 2 do
  redis.call('UNLINK', KEYS[i])
  redis.call('SET', KEYS[i + 1], written, 'PX', ARGV[1])
end
return written`;

/**
 * A tag eviction: KEYS[1] the write counter, then per tag its set and its fence. Returns the
 * members of the sets, deletes the sets and fences the tags.
 */
const TAKE_TAGGED_SCRIPT = `
local written = redis.call('INCR', KEYS[1])
local members = {}
for i = 2, #KEYS, 2 do
  for _, member in ipairs(redis.call('SMEMBERS', KEYS[i])) do members[#members + 1] = member end
  redis.call('DEL', KEYS[i])
  redis.call('SET', KEYS[i + 1], written, 'PX', ARGV[1])
end
return members`;

/** Deletes the lock only if this process still holds it (it may have expired and moved on). */
const RELEASE_SCRIPT = `
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0`;

/**
 * The shared tier: a node-redis client set up so that a dead or slow Redis never holds a
 * request (no offline queue, a timeout on every command, a connect timeout, reconnection with
 * exponential backoff, and a breaker that skips Redis for a second after repeated failures),
 * the `@keyv/redis` store cache-manager tiers, and the commands cache-manager lacks: fill
 * locks and tag sets.
 */
export class RedisTier {
  readonly client: RedisClient;
  /** `loadstar:v1:<key>` in Redis; values as Keyv serializes them (`{ value, expires }`). */
  readonly keyv: Keyv;
  private readonly logger = new Logger('Cache');
  private connectionError: unknown;
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
    this.client = createClient({
      url: options.url,
      disableOfflineQueue: true,
      socket: {
        connectTimeout: options.connectTimeoutMs,
        reconnectStrategy: (retries) =>
          Math.min(50 * 2 ** retries, options.maxReconnectDelayMs) + Math.random() * 50,
      },
    });
    // Registered before the Keyv store's own listener, so the store's copy of a connection
    // error is recognised below and not counted as a failed command.
    this.client.on('error', (error: unknown) => this.onConnectionError(error));
    this.client.on('ready', () => this.onReady());
    const store = new BoundedKeyvRedis(
      this.client,
      {
        keyPrefixSeparator: ':',
        throwOnConnectError: false,
        throwOnErrors: false,
        connectionTimeout: options.connectTimeoutMs,
      },
      options.commandTimeoutMs,
    );
    this.keyv = new Keyv({ store, namespace: CACHE_NAMESPACE, useKeyPrefix: false });
    this.keyv.on('error', (error: unknown) => {
      if (error !== this.connectionError) this.recordFailure(error);
    });
  }

  /** Connected, and not skipped by the breaker. */
  get available(): boolean {
    return this.client.isReady && Date.now() >= this.breakerOpenUntil;
  }

  /**
   * Connects, waiting at most the connect timeout: the app starts without Redis and uses it
   * once the client (which keeps retrying) gets through.
   */
  async connect(): Promise<void> {
    const connected = this.client.connect().then(
      () => undefined,
      () => undefined,
    );
    await Promise.race([
      connected,
      sleep(this.options.connectTimeoutMs, undefined, { ref: false }),
    ]);
  }

  close(): void {
    if (this.client.isOpen) this.client.destroy();
  }

  /**
   * See {@link READ_OR_LOCK_SCRIPT}; `token` identifies the holder. With `refresh`, an entry
   * present is not read: the caller means to replace it.
   */
  async readOrLock(key: string, token: string, refresh = false): Promise<ReadOrLock> {
    const reply = (await this.run(() =>
      this.client.eval(READ_OR_LOCK_SCRIPT, {
        keys: [this.keyOf(key), CACHE_LOCK_PREFIX + key, CACHE_WRITES_KEY],
        arguments: [token, String(this.options.lockTtlMs), refresh ? '1' : '0'],
      }),
    )) as [number, string, number?];
    if (reply[0] !== 1) {
      const locked = reply[0] === 2;
      const claim = { token, locked, writes: reply[1], startedAt: reply[2]! };
      return locked ? { state: 'locked', claim } : { state: 'busy', claim };
    }
    const stored = await this.deserialize(reply[1]);
    // Expired by Keyv's clock, not yet by Redis's: another process is about to refill it.
    if (stored === undefined) return { state: 'busy' };
    return { state: 'found', stored };
  }

  /**
   * A fill's store, with its tags (a tag set lives as long as its longest-lived member:
   * `PEXPIRE … NX` gives a new set a lifetime, `… GT` extends it), and the release of its lock.
   * @returns false when a write or an eviction of the key or of a tag came after the fill
   *   began: nothing was stored, and the loaded value is older than what the cache holds.
   */
  async store(
    key: string,
    stored: StoredValue,
    ttl: number,
    tags: readonly string[],
    claim: FillClaim,
  ): Promise<boolean> {
    const serialized = await this.keyv.serialize!(stored);
    const keys = [CACHE_WRITES_KEY, CACHE_LOCK_PREFIX + key, this.keyOf(key), this.fenceOf(key)];
    for (const tag of tags) keys.push(CACHE_TAG_PREFIX + tag, this.tagFenceOf(tag));
    const reply = await this.run(() =>
      this.client.eval(STORE_SCRIPT, {
        keys,
        arguments: [...this.fillArguments(claim), claim.token, serialized, String(ttl), key],
      }),
    );
    return reply === 1;
  }

  /**
   * One read of many keys, and where the fill of those missing begins.
   * @returns the values in the order of `keys`, `undefined` where missing
   */
  async readMany(keys: readonly string[]): Promise<{
    stored: Array<StoredValue | undefined>;
    claim: FillClaim;
  }> {
    const reply = (await this.run(() =>
      this.client.eval(READ_MANY_SCRIPT, {
        keys: [CACHE_WRITES_KEY, ...keys.map((key) => this.keyOf(key))],
      }),
    )) as [string, number, ...Array<string | null>];
    const claim = { token: '', locked: false, writes: reply[0], startedAt: reply[1] };
    const stored = await Promise.all(
      reply.slice(2).map((raw) => (raw === null ? undefined : this.deserialize(raw as string))),
    );
    return { stored, claim };
  }

  /**
   * A batch fill's store: each entry not written or evicted since `claim`.
   * @returns the entries stored
   */
  async storeMany(entries: readonly FilledEntry[], claim: FillClaim): Promise<FilledEntry[]> {
    const keys = [CACHE_WRITES_KEY];
    const values: string[] = [];
    for (const { key, stored, ttl } of entries) {
      keys.push(this.keyOf(key), this.fenceOf(key));
      values.push(await this.keyv.serialize!(stored), String(ttl));
    }
    const reply = (await this.run(() =>
      this.client.eval(STORE_MANY_SCRIPT, {
        keys,
        arguments: [...this.fillArguments(claim), ...values],
      }),
    )) as number[];
    return entries.filter((_, i) => reply[i] === 1);
  }

  /**
   * Fences `keys` before a write-through of them: a fill that began earlier no longer stores
   * what it loaded over the value written.
   */
  async fence(keys: readonly string[]): Promise<void> {
    await this.run(() =>
      this.client.eval(FENCE_SCRIPT, {
        keys: [CACHE_WRITES_KEY, ...keys.map((key) => this.fenceOf(key))],
        arguments: [String(FENCE_TTL_MS)],
      }),
    );
  }

  /** Deletes entries and fences them (not their L1 copies: see the invalidation bus). */
  async delete(keys: readonly string[]): Promise<void> {
    await this.run(() =>
      this.client.eval(EVICT_SCRIPT, {
        keys: [CACHE_WRITES_KEY, ...keys.flatMap((key) => [this.keyOf(key), this.fenceOf(key)])],
        arguments: [String(FENCE_TTL_MS)],
      }),
    );
  }

  async release(key: string, token: string): Promise<void> {
    await this.run(() =>
      this.client.eval(RELEASE_SCRIPT, { keys: [CACHE_LOCK_PREFIX + key], arguments: [token] }),
    );
  }

  /**
   * The keys tagged with any of `tags`; the tag sets are deleted and the tags fenced at once,
   * so a fill of an entry tagged with one of them, running now, does not store it.
   */
  async takeTagged(tags: readonly string[]): Promise<string[]> {
    const keys = [CACHE_WRITES_KEY];
    for (const tag of tags) keys.push(CACHE_TAG_PREFIX + tag, this.tagFenceOf(tag));
    const members = (await this.run(() =>
      this.client.eval(TAKE_TAGGED_SCRIPT, { keys, arguments: [String(FENCE_TTL_MS)] }),
    )) as string[];
    return [...new Set(members)];
  }

  async publish(channel: string, message: string): Promise<void> {
    await this.run(() => this.client.publish(channel, message));
  }

  /** Redis key of a cache key. */
  keyOf(key: string): string {
    return `${CACHE_NAMESPACE}:${key}`;
  }

  private fenceOf(key: string): string {
    return CACHE_FENCE_PREFIX + key;
  }

  private tagFenceOf(tag: string): string {
    return `${CACHE_FENCE_PREFIX}tag:${tag}`;
  }

  private fillArguments(claim: FillClaim): string[] {
    return [claim.writes, String(claim.startedAt), String(FENCE_TTL_MS)];
  }

  /** Keyv's stored form; `undefined` once expired by Keyv's own clock. */
  private async deserialize(raw: string): Promise<StoredValue | undefined> {
    const stored = (await this.keyv.deserialize!(raw)) as StoredValue | undefined;
    if (typeof stored?.expires === 'number' && stored.expires <= Date.now()) return undefined;
    return stored;
  }

  /** A command of ours: counted against the breaker, rethrown for the caller to degrade. */
  private async run<T>(command: () => Promise<T>): Promise<T> {
    try {
      const result = await within(command(), this.options.commandTimeoutMs);
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

  private onConnectionError(error: unknown): void {
    this.connectionError = error;
    if (this.down) return;
    this.down = true;
    this.logger.warn(
      `Redis unreachable (${(error as Error).message}): caching in process only, reconnecting`,
    );
  }

  private onReady(): void {
    this.consecutiveFailures = 0;
    this.breakerOpenUntil = 0;
    if (!this.down) return;
    this.down = false;
    this.logger.log('Redis reachable again: shared cache resumed');
  }
}
