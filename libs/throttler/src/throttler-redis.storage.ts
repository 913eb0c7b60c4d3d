import { Logger, OnApplicationShutdown, OnModuleInit } from '@nestjs/common';
import { CommandParser, createClient, defineScript } from '@redis/client';
import { MemoryThrottlerStorage } from './throttler-memory.storage';
import { RateLimitStorage, ThrottlerStorageRecord, windowRecord } from './throttler.storage';

/**
 * Hits, refunds and resets on many keys, atomically, in one round trip. `ARGV` holds four
 * values per key: its window length, its hits, its refunds and whether to reset it. A reset
 * ends the window; refunds take hits back from a window that is still open (never below 0);
 * then the count goes up by the hits, and the first hits of a window start it. Each key comes
 * back with its count and the window's remaining milliseconds. Being a single script,
 * concurrent hits from any number of processes are counted exactly.
 */
const HITS_SCRIPT = defineScript({
  SCRIPT: `local reply = {}
for i, key in ipairs(KEYS) do
  local hits = tonumber(ARGV[4 * i - 2])
  local refunds = tonumber(ARGV[4 * i - 1])
  if ARGV[4 * i] == '1' then redis.call('DEL', key) end
  local count = 0
  if refunds > 0 and redis.call('EXISTS', key) == 1 then
    count = redis.call('DECRBY', key, refunds)
    if count < 0 then count = redis.call('INCRBY', key, -count) end
  end
  if hits > 0 then count = redis.call('INCRBY', key, hits) end
  local ttl = redis.call('PTTL', key)
  if hits > 0 and ttl < 0 then
    ttl = tonumber(ARGV[4 * i - 3])
    redis.call('PEXPIRE', key, ttl)
  end
  reply[2 * i - 1] = count
  reply[2 * i] = ttl
end
return reply`,
  parseCommand(parser: CommandParser, keys: string[], changes: string[]) {
    parser.pushKeysLength(keys);
    parser.pushVariadic(changes);
  },
  transformReply: undefined as unknown as () => number[],
});

/** A refused connection must not delay the start longer than this. */
const CONNECT_TIMEOUT_MS = 1_000;
/** Reconnection backs off up to this, so limiting resumes within about a second of Redis. */
const MAX_RECONNECT_DELAY_MS = 1_000;

/** Most keys one script call counts; a larger burst is sent as several calls. */
const MAX_KEYS_PER_CALL = 1_000;

/**
 * Commands written and not answered yet, at most: a Redis that stops answering (but keeps the
 * connection) then costs bounded memory, and further checks fail at once instead of piling up.
 */
const MAX_PENDING_COMMANDS = 10_000;

function createLimiterClient(url: string) {
  return createClient({
    url,
    // Rejected at once while disconnected: a queue would stall requests during an outage and
    // replay stale increments after it.
    disableOfflineQueue: true,
    commandsQueueMaxLength: MAX_PENDING_COMMANDS,
    socket: {
      connectTimeout: CONNECT_TIMEOUT_MS,
      reconnectStrategy: (retries: number) => Math.min(50 * 2 ** retries, MAX_RECONNECT_DELAY_MS),
    },
    scripts: { hits: HITS_SCRIPT },
  });
}

class StorageTimeoutError extends Error {
  constructor(timeoutMs: number) {
    super(`Redis did not answer within ${timeoutMs} ms`);
  }
}

/** A request waiting for its hit to be counted. */
interface Waiter {
  limit: number;
  resolve(record: ThrottlerStorageRecord): void;
  reject(error: Error): void;
}

/** What happens to one key in the next call to Redis. */
interface PendingKey {
  ttlMs: number;
  /** Its tier is counted in this process while Redis fails. */
  local: boolean;
  /** The hits, in arrival order. */
  waiters: Waiter[];
  refunds: number;
  reset: boolean;
  /** Callers of `refund` and `reset`, told once the batch is done (never rejected). */
  settled: (() => void)[] | undefined;
}

/**
 * Fixed-window counters in Redis, shared by every process and instance on the same server.
 * Hits are sent in batches: those arriving in one turn of the event loop go in one script call
 * (one `EVALSHA` per turn, not per request), and all hits on one key in it in one `INCRBY`;
 * refunds and resets ride in the same call. Each hit still gets its own count (a key's waiters
 * get consecutive counts in arrival order), so limits are as exact as with one command per
 * hit. Its own client (on `@redis/client`, the app's one Redis library) because the limiter
 * needs the offline queue off, a bounded queue and a timeout of milliseconds.
 *
 * While Redis fails, the keys of the `localTiers` are counted in this process's memory instead
 * (exact per process), so their limits hold through an outage whatever the fail-open setting
 * says; the other tiers' checks fail and the guard's fail-open setting decides.
 */
export class RedisThrottlerStorage
  implements RateLimitStorage, OnModuleInit, OnApplicationShutdown
{
  private readonly logger = new Logger('RateLimitStorage');
  private readonly client: ReturnType<typeof createLimiterClient>;
  private readonly timeoutError: StorageTimeoutError;
  private readonly local = new MemoryThrottlerStorage();
  private batch = new Map<string, PendingKey>();
  private reachable = true;

  constructor(
    url: string,
    private readonly timeoutMs: number,
    private readonly localTiers: ReadonlySet<string> = new Set(),
  ) {
    this.client = createLimiterClient(url);
    // one instance: a stalled Redis makes every check time out, and the stack is never read
    this.timeoutError = new StorageTimeoutError(timeoutMs);
    this.client.on('error', (error: Error) => {
      if (!this.reachable) return;
      this.reachable = false;
      const local = [...this.localTiers].join(', ');
      this.logger.warn(
        `Redis unreachable, reconnecting in the background: ${error.message}` +
          (local ? `; tiers ${local} are counted in this process meanwhile` : ''),
      );
    });
    this.client.on('ready', () => {
      if (this.reachable) return;
      this.reachable = true;
      this.logger.log('Redis reachable again');
    });
  }

  /**
   * Connects, waiting at most {@link CONNECT_TIMEOUT_MS}: an unreachable Redis must not stop
   * the start (the limiter's fail-open setting decides meanwhile); the client keeps retrying.
   */
  async onModuleInit(): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const connected = this.client.connect().then(
      () => true,
      () => false,
    );
    const timedOut = new Promise<false>((resolve) => {
      timer = setTimeout(() => resolve(false), CONNECT_TIMEOUT_MS);
    });
    await Promise.race([connected, timedOut]);
    clearTimeout(timer);
  }

  /** Counts one hit on `key` with the next batch (see the class). */
  increment(
    key: string,
    ttlMs: number,
    limit: number,
    _blockDuration: number,
    tier: string,
  ): Promise<ThrottlerStorageRecord> {
    return new Promise((resolve, reject) => {
      const pending = this.pending(key, tier);
      pending.ttlMs = ttlMs;
      pending.waiters.push({ limit, resolve, reject });
    });
  }

  refund(key: string, tier: string): Promise<void> {
    return new Promise((resolve) => {
      const pending = this.pending(key, tier);
      pending.refunds += 1;
      (pending.settled ??= []).push(resolve);
    });
  }

  reset(key: string, tier: string): Promise<void> {
    return new Promise((resolve) => {
      const pending = this.pending(key, tier);
      pending.reset = true;
      (pending.settled ??= []).push(resolve);
    });
  }

  onApplicationShutdown(): void {
    if (this.client.isOpen) this.client.destroy();
    this.local.onApplicationShutdown();
  }

  /**
   * Sends the batch in one script call. Its waiters fail after the storage timeout even when
   * the call was already sent: node-redis's own command timeout only covers the wait before
   * writing, not the wait for the reply. The timeout starts once the call is written (node-redis
   * writes in its next `setImmediate`, which runs before this one), and the failure waits for
   * the loop's I/O phase after the timer: in a burst that lags this process's event loop,
   * replies already received are read first, so the lag is not taken for a slow Redis (which
   * would fail open and admit more than the limit).
   */
  private readonly flush = (): void => {
    const batch = this.batch;
    if (batch.size === 0) return;
    this.batch = new Map();
    const keys: string[] = [];
    const changes: string[] = [];
    for (const [key, { ttlMs, waiters, refunds, reset }] of batch) {
      keys.push(key);
      changes.push(String(ttlMs), String(waiters.length), String(refunds), reset ? '1' : '0');
    }
    let finished = false;
    let timer: NodeJS.Timeout | undefined;
    const fail = (error: Error) => {
      if (finished) return;
      finished = true;
      clearTimeout(timer);
      this.failBatch(batch, error);
    };
    this.client.hits(keys, changes).then(
      (reply) => {
        if (finished) return;
        finished = true;
        clearTimeout(timer);
        let index = 0;
        for (const { waiters, settled } of batch.values()) {
          const total = reply[index++];
          const msLeft = reply[index++];
          const first = total - waiters.length + 1;
          for (let i = 0; i < waiters.length; i++) {
            waiters[i].resolve(windowRecord(first + i, msLeft, waiters[i].limit));
          }
          if (settled) for (const done of settled) done();
        }
      },
      (error: unknown) => fail(error instanceof Error ? error : new Error(String(error))),
    );
    setImmediate(() => {
      if (!finished) {
        timer = setTimeout(() => setImmediate(fail, this.timeoutError), this.timeoutMs);
      }
    });
  };

  /**
   * A batch Redis did not count: the keys of local tiers are counted in this process instead,
   * the other hits fail (the guard's fail-open setting decides), refunds and resets elsewhere
   * are dropped.
   */
  private failBatch(batch: Map<string, PendingKey>, error: Error): void {
    const now = Date.now();
    for (const [key, pending] of batch) {
      const { waiters, settled } = pending;
      if (pending.local) {
        if (pending.reset) void this.local.reset(key);
        for (let i = 0; i < pending.refunds; i++) this.local.take(key, now);
        for (const waiter of waiters) {
          waiter.resolve(this.local.hit(key, pending.ttlMs, waiter.limit, now));
        }
      } else {
        for (const waiter of waiters) waiter.reject(error);
      }
      if (settled) for (const done of settled) done();
    }
  }

  /** The next batch's entry of `key`, added if it has none. */
  private pending(key: string, tier: string): PendingKey {
    let pending = this.batch.get(key);
    if (pending === undefined) {
      if (this.batch.size === MAX_KEYS_PER_CALL) this.flush();
      // the batch's first key: it leaves after this turn's I/O callbacks have added theirs
      if (this.batch.size === 0) setImmediate(this.flush);
      pending = {
        ttlMs: 0,
        local: this.localTiers.has(tier),
        waiters: [],
        refunds: 0,
        reset: false,
        settled: undefined,
      };
      this.batch.set(key, pending);
    }
    return pending;
  }
}
