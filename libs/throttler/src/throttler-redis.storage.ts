import { Logger, OnApplicationShutdown, OnModuleInit } from '@nestjs/common';
import { CommandParser, defineScript } from '@redis/client';
import { RedisCommands, RedisConnection, RedisConnectionOptions } from '@app/redis';
import type { Context } from '@opentelemetry/api';
import { failSpan, recordedContext, startBatchSpan, withSpan } from '@app/tracing';
import { Lease } from './throttler-lease';
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

/** Most keys one script call counts; a larger burst is sent as several calls. */
const MAX_KEYS_PER_CALL = 1_000;
/** How often leases of ended windows are dropped, in milliseconds. */
const LEASE_SWEEP_INTERVAL_MS = 60_000;

const LIMITER_SCRIPTS = { hits: HITS_SCRIPT };

class StorageTimeoutError extends Error {
  constructor(timeoutMs: number) {
    super(`Redis did not answer within ${timeoutMs} ms`);
  }
}

/** A request waiting for its hit to be counted. */
interface Waiter {
  limit: number;
  /** The request's trace context, when it is being traced. */
  traced: Context | undefined;
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
  /** Counts to take ahead of them for this process's lease (0: none). */
  ahead: number;
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
 * hit. Its own connection (`@app/redis`, with the app's one Redis policy: offline queue off, a
 * bounded queue) so that its timeout of milliseconds waits behind no other user's commands.
 *
 * While Redis fails, the keys of the `localTiers` are counted in this process's memory instead
 * (exact per process), so their limits hold through an outage whatever the fail-open setting
 * says; the other tiers' checks fail and the guard's fail-open setting decides.
 *
 * Tiers with a lease share (`leaseShares`, tier → share of the limit) count ahead: a call
 * that counts a key's hits also takes that share of its limit for this process ({@link Lease}),
 * and the key's next hits spend those counts without a round trip; another block is taken when
 * half of one is left. Every count is still Redis's, so a window never admits more than its
 * limit; counts a process took and did not spend are lost to the others, so a key may be refused
 * up to about one block per other process early.
 */
export class RedisThrottlerStorage
  implements RateLimitStorage, OnModuleInit, OnApplicationShutdown
{
  private readonly logger = new Logger('RateLimitStorage');
  private readonly connection: RedisConnection<typeof LIMITER_SCRIPTS>;
  private readonly client: RedisCommands<typeof LIMITER_SCRIPTS>;
  private readonly timeoutError: StorageTimeoutError;
  private readonly awayError: Error;
  private readonly local = new MemoryThrottlerStorage();
  private batch = new Map<string, PendingKey>();
  private readonly leases = new Map<string, Lease>();
  private readonly leaseSweeper: NodeJS.Timeout;
  private reachable = true;

  constructor(
    redis: RedisConnectionOptions,
    private readonly timeoutMs: number,
    private readonly localTiers: ReadonlySet<string> = new Set(),
    private readonly leaseShares: ReadonlyMap<string, number> = new Map(),
  ) {
    this.leaseSweeper = setInterval(() => this.sweepLeases(), LEASE_SWEEP_INTERVAL_MS).unref();
    this.connection = new RedisConnection(redis, 'rate-limit', LIMITER_SCRIPTS);
    this.client = this.connection.client;
    // one instance: a stalled Redis makes every check time out, and the stack is never read
    this.timeoutError = new StorageTimeoutError(timeoutMs);
    this.awayError = new Error('Redis unavailable');
    this.connection.on('down', (error) => {
      if (!this.reachable) return;
      this.reachable = false;
      const local = [...this.localTiers].join(', ');
      this.logger.warn(
        `Redis unreachable, reconnecting in the background: ${error.message}` +
          (local ? `; tiers ${local} are counted in this process meanwhile` : ''),
      );
    });
    this.connection.on('ready', () => {
      if (this.reachable) return;
      this.reachable = true;
      this.logger.log('Redis reachable again');
    });
  }

  /**
   * Connects, waiting at most the connect timeout: an unreachable Redis must not stop the
   * start (the limiter's fail-open setting decides meanwhile); the connection keeps retrying.
   */
  onModuleInit(): Promise<void> {
    return this.connection.connect();
  }

  /** Counts one hit on `key`: from this process's lease, else with the next batch (see the class). */
  increment(
    key: string,
    ttlMs: number,
    limit: number,
    _blockDuration: number,
    tier: string,
  ): Promise<ThrottlerStorageRecord> {
    const leased = this.incrementNow(key, ttlMs, limit, tier);
    if (leased !== undefined) return Promise.resolve(leased);
    return new Promise((resolve, reject) => {
      const pending = this.pending(key, tier);
      pending.ttlMs = ttlMs;
      pending.waiters.push({ limit, traced: recordedContext(), resolve, reject });
      const leaseSize = this.leaseSize(tier, limit);
      if (leaseSize > 0 && !this.leases.get(key)?.refilling) pending.ahead = leaseSize;
    });
  }

  /** A count of this process's lease on `key`, if it has one left in the window. */
  incrementNow(
    key: string,
    ttlMs: number,
    limit: number,
    tier: string,
  ): ThrottlerStorageRecord | undefined {
    const lease = this.leases.get(key);
    if (lease === undefined) return undefined;
    const now = Date.now();
    if (lease.endsAt <= now) {
      this.leases.delete(key);
      return undefined;
    }
    if (!lease.spend()) return undefined;
    const leaseSize = this.leaseSize(tier, limit);
    if (lease.wantsRefill(leaseSize)) {
      lease.refilling = true;
      this.takeAhead(key, tier, ttlMs, leaseSize);
    }
    return windowRecord(lease.spent, lease.endsAt - now, limit);
  }

  refund(key: string, tier: string): Promise<void> {
    return new Promise((resolve) => {
      const pending = this.pending(key, tier);
      pending.refunds += 1;
      (pending.settled ??= []).push(resolve);
    });
  }

  reset(key: string, tier: string): Promise<void> {
    this.leases.delete(key);
    return new Promise((resolve) => {
      const pending = this.pending(key, tier);
      pending.reset = true;
      (pending.settled ??= []).push(resolve);
    });
  }

  onApplicationShutdown(): void {
    clearInterval(this.leaseSweeper);
    this.connection.destroy();
    this.local.onApplicationShutdown();
  }

  /** Sends the batch: one script call, or one per hash slot on Redis Cluster ({@link bySlot}). */
  private readonly flush = (): void => {
    const batch = this.batch;
    if (batch.size === 0) return;
    this.batch = new Map();
    // On Redis Cluster a failed master leaves the connection away until the slot map has a
    // live master for every slot: counting the other slots meanwhile would flip the guard
    // between "unavailable" and "available again" (and log it) on every request.
    if (!this.connection.isReady) return this.failBatch(batch, this.awayError);
    for (const slice of this.bySlot(batch)) this.send(slice);
  };

  /**
   * The batch in the pieces one script call may count: on Redis Cluster a script's keys must
   * share a hash slot, so each slot's keys go in a call of their own (sent together, each to
   * the node serving it); on one server the whole batch is one call.
   */
  private bySlot(batch: Map<string, PendingKey>): Iterable<Map<string, PendingKey>> {
    if (!this.connection.cluster) return [batch];
    const slices = new Map<number | undefined, Map<string, PendingKey>>();
    for (const [key, pending] of batch) {
      const slot = this.connection.slotOf(key);
      let slice = slices.get(slot);
      if (slice === undefined) slices.set(slot, (slice = new Map()));
      slice.set(key, pending);
    }
    return slices.values();
  }

  /**
   * One script call for `batch`. Its waiters fail after the storage timeout even when the call
   * was already sent: node-redis's own command timeout only covers the wait before writing, not
   * the wait for the reply. The timeout starts once the call is written (node-redis writes in
   * its next `setImmediate`, which runs before this one), and the failure waits for the loop's
   * I/O phase after the timer: in a burst that lags this process's event loop, replies already
   * received are read first, so the lag is not taken for a slow Redis (which would fail open
   * and admit more than the limit).
   */
  private send(batch: Map<string, PendingKey>): void {
    const keys: string[] = [];
    const changes: string[] = [];
    const traced: Context[] = [];
    let hits = 0;
    const sentAt = Date.now();
    for (const [key, { ttlMs, waiters, ahead, refunds, reset }] of batch) {
      keys.push(key);
      changes.push(
        String(ttlMs),
        String(waiters.length + ahead),
        String(refunds),
        reset ? '1' : '0',
      );
      hits += waiters.length;
      for (const { traced: context } of waiters) if (context) traced.push(context);
    }
    // one span for the call, whichever requests it counts for (docs/tracing.md)
    const span = startBatchSpan('rate_limit.check', traced, {
      'rate_limit.keys': keys.length,
      'rate_limit.hits': hits,
    });
    let finished = false;
    let timer: NodeJS.Timeout | undefined;
    const fail = (error: Error) => {
      if (finished) return;
      finished = true;
      clearTimeout(timer);
      if (span) {
        failSpan(span, error);
        span.end();
      }
      this.failBatch(batch, error);
    };
    const call = () => this.client.hits(keys, changes);
    (span ? withSpan(span, call) : call()).then(
      (reply) => {
        if (finished) return;
        finished = true;
        clearTimeout(timer);
        span?.end();
        let index = 0;
        for (const [key, { waiters, ahead, ttlMs, settled }] of batch) {
          const total = reply[index++];
          const msLeft = reply[index++];
          const first = total - waiters.length - ahead + 1;
          for (let i = 0; i < waiters.length; i++) {
            waiters[i].resolve(windowRecord(first + i, msLeft, waiters[i].limit));
          }
          if (ahead > 0) this.keepLease(key, first + waiters.length, total, sentAt + msLeft, ttlMs);
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
  }

  /**
   * A batch Redis did not count: the keys of local tiers are counted in this process instead,
   * the other hits fail (the guard's fail-open setting decides), refunds and resets elsewhere
   * are dropped.
   */
  private failBatch(batch: Map<string, PendingKey>, error: Error): void {
    const now = Date.now();
    for (const [key, pending] of batch) {
      const { waiters, settled } = pending;
      const lease = pending.ahead > 0 ? this.leases.get(key) : undefined;
      if (lease) lease.refilling = false;
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
        ahead: 0,
        refunds: 0,
        reset: false,
        settled: undefined,
      };
      this.batch.set(key, pending);
    }
    return pending;
  }

  /** Counts a key of `tier` with this `limit` takes ahead: 0 for exact tiers and small limits. */
  private leaseSize(tier: string, limit: number): number {
    const share = this.leaseShares.get(tier);
    if (share === undefined) return 0;
    const size = Math.floor(limit * share);
    return size > 1 ? size : 0;
  }

  /** Another block for `key`'s lease, taken with the next batch. */
  private takeAhead(key: string, tier: string, ttlMs: number, size: number): void {
    const pending = this.pending(key, tier);
    pending.ttlMs = ttlMs;
    pending.ahead = size;
  }

  /** Counts `first`…`last` of the window ending at `endsAt`, taken for this process. */
  private keepLease(key: string, first: number, last: number, endsAt: number, ttlMs: number): void {
    const lease = this.leases.get(key);
    // the same window if it ends when the lease's does, give or take the calls' round trips
    if (lease !== undefined && Math.abs(lease.endsAt - endsAt) < ttlMs / 2) {
      lease.add(first, last);
    } else {
      this.leases.set(key, new Lease(first, last, endsAt));
    }
  }

  private sweepLeases(): void {
    const now = Date.now();
    for (const [key, lease] of this.leases) if (lease.endsAt <= now) this.leases.delete(key);
  }
}
