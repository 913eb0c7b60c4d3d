import { performance } from 'node:perf_hooks';
import { Logger } from '@nestjs/common';
import { CommandParser, defineScript } from '@redis/client';
import { RedisConnection, RedisConnectionOptions, withinTimeout } from '@app/redis';
import { READ_YOUR_WRITES_KEY_PREFIX } from './database.constants';

/**
 * A fence no replica reaches: the primary's position could not be read after a write, so its
 * client's reads go to the primary until the fence expires.
 *
 * @internal
 */
export const PRIMARY_ONLY = (1n << 64n) - 1n;

/**
 * Keeps the greater of the fence given and the one stored (two processes may store a client's
 * fences out of order), as 16 hex digits so that Lua compares them as text, and restarts the
 * expiry.
 */
const RECORD_FENCE_SCRIPT = defineScript({
  SCRIPT: `local fence = redis.call('GET', KEYS[1])
if not fence or ARGV[1] > fence then fence = ARGV[1] end
redis.call('SET', KEYS[1], fence, 'PX', ARGV[2])
return 1`,
  NUMBER_OF_KEYS: 1,
  parseCommand(parser: CommandParser, key: string, fence: string, ttlMs: number) {
    parser.pushKey(key);
    parser.push(fence, String(ttlMs));
  },
  transformReply: undefined as unknown as () => number,
});

const FENCE_SCRIPTS = { recordFence: RECORD_FENCE_SCRIPT };

const hex = (lsn: bigint): string => lsn.toString(16).padStart(16, '0');

/**
 * Each client's fence, the primary's WAL position after its last write, for `ttlMs` (after
 * which every replica in the rotation has replayed it). In this process only.
 *
 * @internal
 */
export class LocalWriteFences {
  /** Client → fence and expiry; in write order (re-inserted), so expiry trims the front. */
  private readonly fences = new Map<string, { lsn: bigint; expiresAt: number }>();

  constructor(private readonly ttlMs: number) {}

  record(client: string, lsn: bigint): void {
    const now = performance.now();
    this.expire(now);
    const kept = this.fences.get(client);
    this.fences.delete(client);
    const fence = kept !== undefined && kept.lsn > lsn ? kept.lsn : lsn;
    this.fences.set(client, { lsn: fence, expiresAt: now + this.ttlMs });
  }

  /** `client`'s fence, if it has one that has not expired. */
  fenceOf(client: string): bigint | undefined {
    const fence = this.fences.get(client);
    if (fence === undefined) return undefined;
    if (fence.expiresAt > performance.now()) return fence.lsn;
    this.fences.delete(client);
    return undefined;
  }

  private expire(now: number): void {
    for (const [client, fence] of this.fences) {
      if (fence.expiresAt > now) break;
      this.fences.delete(client);
    }
  }
}

/**
 * The fences in Redis, one key per client with a TTL, so that every process and instance sees
 * a client's write wherever it was made. Every command has a timeout; a fence that cannot be
 * read is treated as unknown (the caller reads on the primary).
 *
 * @internal
 */
export class SharedWriteFences {
  private readonly connection: RedisConnection<typeof FENCE_SCRIPTS>;
  private readonly logger = new Logger('ReadYourWrites');
  private reachable = true;

  constructor(
    redis: RedisConnectionOptions,
    private readonly ttlMs: number,
    private readonly timeoutMs: number,
  ) {
    this.connection = new RedisConnection(redis, 'read-your-writes', FENCE_SCRIPTS);
    this.connection.on('down', (error) => {
      if (!this.reachable) return;
      this.reachable = false;
      this.logger.warn(
        `Redis unreachable (${error.message}): reads of identified users go to the primary`,
      );
    });
    this.connection.on('ready', () => {
      if (this.reachable) return;
      this.reachable = true;
      this.logger.log('Redis reachable again: write fences shared');
    });
  }

  connect(): Promise<void> {
    return this.connection.connect();
  }

  /** Stores `client`'s fence; a failure is not the write's: reads then go to the primary. */
  async record(client: string, lsn: bigint): Promise<void> {
    await withinTimeout(
      this.connection.client.recordFence(this.keyOf(client), hex(lsn), this.ttlMs),
      this.timeoutMs,
    ).catch(() => undefined);
  }

  /** `client`'s fence, `undefined` when it has none; rejects when Redis does not answer. */
  async fenceOf(client: string): Promise<bigint | undefined> {
    const fence = await withinTimeout(
      this.connection.client.get(this.keyOf(client)),
      this.timeoutMs,
    );
    return fence === null ? undefined : BigInt(`0x${fence}`);
  }

  close(): void {
    this.connection.destroy();
  }

  private keyOf(client: string): string {
    return `${READ_YOUR_WRITES_KEY_PREFIX}${client}`;
  }
}
