import { setTimeout as sleep } from 'node:timers/promises';
import { Logger } from '@nestjs/common';
import KeyvRedis, { KeyvRedisOptions } from '@keyv/redis';
import { createClient } from '@redis/client';
import { Keyv, KeyvEntry } from 'keyv';
import { CACHE_LOCK_PREFIX, CACHE_NAMESPACE, CACHE_TAG_PREFIX } from '../cache.constants';

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

/** Outcome of {@link RedisTier.readOrLock}. */
export type ReadOrLock =
  | { state: 'found'; stored: { value: unknown; expires?: number } }
  | { state: 'locked' }
  | { state: 'busy' };

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

/**
 * The value if the key is filled, else the fill lock (`SET NX PX`) if nobody holds it: one
 * round trip, and no gap between "not there" and "mine to fill".
 */
const READ_OR_LOCK_SCRIPT = `
local value = redis.call('GET', KEYS[1])
if value then return {1, value} end
if redis.call('SET', KEYS[2], ARGV[1], 'NX', 'PX', ARGV[2]) then return {2} end
return {0}`;

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

  /** See {@link READ_OR_LOCK_SCRIPT}; `token` identifies the holder. */
  async readOrLock(key: string, token: string): Promise<ReadOrLock> {
    const reply = (await this.run(() =>
      this.client.eval(READ_OR_LOCK_SCRIPT, {
        keys: [this.keyOf(key), CACHE_LOCK_PREFIX + key],
        arguments: [token, String(this.options.lockTtlMs)],
      }),
    )) as [number, string?];
    if (reply[0] === 2) return { state: 'locked' };
    if (reply[0] === 0) return { state: 'busy' };
    const stored = (await this.keyv.deserialize!(reply[1]!)) as {
      value: unknown;
      expires?: number;
    };
    if (typeof stored?.expires === 'number' && stored.expires <= Date.now()) {
      return { state: 'busy' };
    }
    return { state: 'found', stored };
  }

  /** Deletes entries (not their L1 copies: see the invalidation bus). */
  async delete(keys: readonly string[]): Promise<void> {
    await this.run(() => this.client.unlink(keys.map((key) => this.keyOf(key))));
  }

  async release(key: string, token: string): Promise<void> {
    await this.run(() =>
      this.client.eval(RELEASE_SCRIPT, { keys: [CACHE_LOCK_PREFIX + key], arguments: [token] }),
    );
  }

  /**
   * Adds `key` to each tag's set in one pipeline. A set lives as long as its longest-lived
   * member: `PEXPIRE … NX` gives a new set a lifetime, `… GT` extends it.
   */
  async tag(key: string, tags: readonly string[], ttlMs: number): Promise<void> {
    const pipeline = this.client.multi();
    for (const tag of tags) {
      const setKey = CACHE_TAG_PREFIX + tag;
      pipeline.sAdd(setKey, key).pExpire(setKey, ttlMs, 'NX').pExpire(setKey, ttlMs, 'GT');
    }
    await this.run(() => pipeline.execAsPipeline());
  }

  /** The keys tagged with any of `tags`; the tag sets are deleted in the same transaction. */
  async takeTagged(tags: readonly string[]): Promise<string[]> {
    const transaction = this.client.multi();
    for (const tag of tags) transaction.sMembers(CACHE_TAG_PREFIX + tag);
    transaction.del(tags.map((tag) => CACHE_TAG_PREFIX + tag));
    const replies = (await this.run(() => transaction.exec())) as unknown[];
    return [...new Set((replies.slice(0, tags.length) as string[][]).flat())];
  }

  async publish(channel: string, message: string): Promise<void> {
    await this.run(() => this.client.publish(channel, message));
  }

  /** Redis key of a cache key. */
  keyOf(key: string): string {
    return `${CACHE_NAMESPACE}:${key}`;
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
