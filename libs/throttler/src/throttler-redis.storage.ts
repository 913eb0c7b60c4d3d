import { Logger, OnApplicationShutdown, OnModuleInit } from '@nestjs/common';
import type { ThrottlerStorage } from '@nestjs/throttler';
import { CommandParser, createClient, defineScript } from '@redis/client';
import { ThrottlerStorageRecord, windowRecord } from './throttler.storage';

/**
 * Hits on many keys, atomically, in one round trip: `ARGV` holds each key's window length and
 * its number of hits; each key's count goes up by its hits and comes back with the window's
 * remaining milliseconds (the first hits of a window start it). Being a single script,
 * concurrent hits from any number of processes are counted exactly.
 */
const HITS_SCRIPT = defineScript({
  SCRIPT: `local reply = {}
for i, key in ipairs(KEYS) do
  local hits = redis.call('INCRBY', key, ARGV[2 * i])
  local ttl = redis.call('PTTL', key)
  if ttl < 0 then
    ttl = tonumber(ARGV[2 * i - 1])
    redis.call('PEXPIRE', key, ttl)
  end
  reply[2 * i - 1] = hits
  reply[2 * i] = ttl
end
return reply`,
  parseCommand(parser: CommandParser, keys: string[], windowsAndHits: string[]) {
    parser.pushKeysLength(keys);
    parser.pushVariadic(windowsAndHits);
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

/** The hits on one key since the last call to Redis, in arrival order. */
interface PendingKey {
  ttlMs: number;
  waiters: Waiter[];
}

/**
 * Fixed-window counters in Redis, shared by every process and instance on the same server.
 * Hits are sent in batches: those arriving in one turn of the event loop go in one script call
 * (one `EVALSHA` per turn, not per request), and all hits on one key in it in one `INCRBY`.
 * Each hit still gets its own count (a key's waiters get consecutive counts in arrival order),
 * so limits are as exact as with one command per hit. Its own client (on `@redis/client`, the
 * app's one Redis library) because the limiter needs the offline queue off, a bounded queue and
 * a timeout of milliseconds.
 */
export class RedisThrottlerStorage
  implements ThrottlerStorage, OnModuleInit, OnApplicationShutdown
{
  private readonly logger = new Logger('RateLimitStorage');
  private readonly client: ReturnType<typeof createLimiterClient>;
  private readonly timeoutError: StorageTimeoutError;
  private batch = new Map<string, PendingKey>();
  private reachable = true;

  constructor(
    url: string,
    private readonly timeoutMs: number,
  ) {
    this.client = createLimiterClient(url);
    // one instance: a stalled Redis makes every check time out, and the stack is never read
    this.timeoutError = new StorageTimeoutError(timeoutMs);
    this.client.on('error', (error: Error) => {
      if (!this.reachable) return;
      this.reachable = false;
      this.logger.warn(`Redis unreachable, reconnecting in the background: ${error.message}`);
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
  increment(key: string, ttlMs: number, limit: number): Promise<ThrottlerStorageRecord> {
    return new Promise((resolve, reject) => {
      let pending = this.batch.get(key);
      if (pending === undefined) {
        // the batch's first key: it leaves after this turn's I/O callbacks have added theirs
        if (this.batch.size === 0) setImmediate(this.flush);
        pending = { ttlMs, waiters: [] };
        this.batch.set(key, pending);
      }
      pending.waiters.push({ limit, resolve, reject });
      if (this.batch.size === MAX_KEYS_PER_CALL && pending.waiters.length === 1) this.flush();
    });
  }

  onApplicationShutdown(): void {
    if (this.client.isOpen) this.client.destroy();
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
    const windowsAndHits: string[] = [];
    for (const [key, { ttlMs, waiters }] of batch) {
      keys.push(key);
      windowsAndHits.push(String(ttlMs), String(waiters.length));
    }
    const fail = (error: Error) => {
      for (const { waiters } of batch.values()) for (const waiter of waiters) waiter.reject(error);
    };
    let answered = false;
    let timer: NodeJS.Timeout | undefined;
    this.client.hits(keys, windowsAndHits).then(
      (reply) => {
        answered = true;
        clearTimeout(timer);
        let index = 0;
        for (const { waiters } of batch.values()) {
          const total = reply[index++];
          const msLeft = reply[index++];
          const first = total - waiters.length + 1;
          for (let i = 0; i < waiters.length; i++) {
            waiters[i].resolve(windowRecord(first + i, msLeft, waiters[i].limit));
          }
        }
      },
      (error: unknown) => {
        answered = true;
        clearTimeout(timer);
        fail(error instanceof Error ? error : new Error(String(error)));
      },
    );
    setImmediate(() => {
      if (!answered) {
        timer = setTimeout(() => setImmediate(fail, this.timeoutError), this.timeoutMs);
      }
    });
  };
}
