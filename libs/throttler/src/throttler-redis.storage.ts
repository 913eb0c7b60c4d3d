import { Logger, OnApplicationShutdown, OnModuleInit } from '@nestjs/common';
import type { ThrottlerStorage } from '@nestjs/throttler';
import { CommandParser, createClient, defineScript } from '@redis/client';
import { ThrottlerStorageRecord, windowRecord } from './throttler.storage';

/**
 * One hit, atomically, in one round trip: count it and return the count with the window's
 * remaining milliseconds; the first hit of a window (no expiry yet) starts the window. Being a
 * single script, concurrent hits from any number of processes are counted exactly.
 */
const HIT_SCRIPT = defineScript({
  NUMBER_OF_KEYS: 1,
  SCRIPT: `local hits = redis.call('INCR', KEYS[1])
local ttl = redis.call('PTTL', KEYS[1])
if ttl < 0 then
  ttl = tonumber(ARGV[1])
  redis.call('PEXPIRE', KEYS[1], ttl)
end
return {hits, ttl}`,
  parseCommand(parser: CommandParser, key: string, ttlMs: string) {
    parser.pushKey(key);
    parser.push(ttlMs);
  },
  transformReply: undefined as unknown as () => [number, number],
});

/** A refused connection must not delay the start longer than this. */
const CONNECT_TIMEOUT_MS = 1_000;
/** Reconnection backs off up to this, so limiting resumes within about a second of Redis. */
const MAX_RECONNECT_DELAY_MS = 1_000;

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
    scripts: { hit: HIT_SCRIPT },
  });
}

class StorageTimeoutError extends Error {
  constructor(timeoutMs: number) {
    super(`Redis did not answer within ${timeoutMs} ms`);
  }
}

/**
 * Fixed-window counters in Redis, shared by every process and instance on the same server:
 * one `EVALSHA` per check. Its own client (on `@redis/client`, the app's one Redis library)
 * because the limiter needs the offline queue off, a bounded queue and a timeout of milliseconds.
 */
export class RedisThrottlerStorage
  implements ThrottlerStorage, OnModuleInit, OnApplicationShutdown
{
  private readonly logger = new Logger('RateLimitStorage');
  private readonly client: ReturnType<typeof createLimiterClient>;
  private readonly timeoutError: StorageTimeoutError;
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

  /**
   * Rejects after the storage timeout even when the command was already sent: node-redis's own
   * command timeout only covers the wait before writing, not the wait for the reply. The
   * rejection waits for the loop's I/O phase after the timer: in a burst that lags this
   * process's event loop, replies already received are read first, so the lag is not taken for
   * a slow Redis (which would fail open and admit more than the limit).
   */
  increment(key: string, ttlMs: number, limit: number): Promise<ThrottlerStorageRecord> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => setImmediate(reject, this.timeoutError), this.timeoutMs);
      this.client.hit(key, String(ttlMs)).then(
        ([hits, msLeft]) => {
          clearTimeout(timer);
          resolve(windowRecord(hits, msLeft, limit));
        },
        (error: unknown) => {
          clearTimeout(timer);
          reject(error instanceof Error ? error : new Error(String(error)));
        },
      );
    });
  }

  onApplicationShutdown(): void {
    if (this.client.isOpen) this.client.destroy();
  }
}
