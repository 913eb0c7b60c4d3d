import { randomBytes, scrypt, timingSafeEqual } from 'node:crypto';
import type { TaskPriority, WorkerService } from '@app/worker';
import { DERIVE_KEY_TASK } from './auth.tasks';
import type { ScryptCost } from './tasks/derive-key.task';

const KEY_LENGTH = 32;
const SALT_LENGTH = 16;
/** Block size and parallelism of OWASP's scrypt recommendation (N=2^17, r=8, p=1). */
const BLOCK_SIZE = 8;
const PARALLELISM = 1;
/**
 * Largest cost a stored hash may ask for (N=2^20 with r=8 is 1 GiB): a corrupted or planted
 * hash must not make a login allocate without bound.
 */
const MAX_STORED_MEMORY = 128 * 1024 * 1024 * 8;

/**
 * scrypt's cost with the memory it needs as `maxmem`: OpenSSL wants 128·r·(N + 2) bytes for
 * its V array and 128·r·p for B (N=2^17, r=8: 128 MiB and 1 KiB).
 */
function scryptCost(N: number, r: number, p: number): ScryptCost {
  return { N, r, p, maxmem: 128 * r * (N + 2 + p) };
}

function deriveOnLibuv(password: string, salt: Buffer, cost: ScryptCost): Promise<Buffer> {
  return new Promise((resolve, reject) =>
    scrypt(password, salt, KEY_LENGTH, cost, (error, key) =>
      error ? reject(error) : resolve(key),
    ),
  );
}

/** A stored hash, `scrypt$N$r$p$salt$key`, taken apart; `undefined` when it is not one. */
function parseStored(stored: string): { cost: ScryptCost; salt: Buffer; key: Buffer } | undefined {
  const [scheme, n, r, p, salt, key, extra] = stored.split('$');
  const [N, R, P] = [Number(n), Number(r), Number(p)];
  if (scheme !== 'scrypt' || !salt || !key || extra !== undefined) return undefined;
  if (![N, R, P].every(Number.isSafeInteger) || N < 2 || (N & (N - 1)) !== 0 || R < 1 || P < 1) {
    return undefined;
  }
  const cost = scryptCost(N, R, P);
  if (cost.maxmem > MAX_STORED_MEMORY) return undefined;
  return { cost, salt: Buffer.from(salt, 'base64url'), key: Buffer.from(key, 'base64url') };
}

/**
 * Memory-hard password hashing with scrypt at N = 2^`costLog2`, r=8, p=1 (OWASP's minimum is
 * N=2^17: 128 MiB and about 0.4 s per hash on one core), off the event loop: in the worker
 * pool when it has threads (each hashing thread holds the 128 MiB outside V8's heap while it
 * runs), else (`WORKER_OFFLOAD=false`, or no pool as in the seed script) on libuv's thread pool
 * through `crypto.scrypt`. Stored as `scrypt$N$r$p$salt$key` (base64url), so the cost can grow:
 * {@link needsRehash} tells a login to store a stronger hash of a password it just verified.
 */
export class PasswordHasher {
  private readonly cost: ScryptCost;
  /**
   * A hash at today's cost, checked for unknown emails so they take as long as known ones;
   * made at start, made again at the next use when that failed.
   */
  private decoy: Promise<string> | undefined;

  constructor(
    costLog2: number,
    private readonly worker?: WorkerService,
  ) {
    this.cost = scryptCost(2 ** costLog2, BLOCK_SIZE, PARALLELISM);
    this.decoy = this.makeDecoy();
  }

  /**
   * Its failure (a task timeout on a busy machine) is handled here: unobserved, it would be an
   * unhandled rejection that ends a process which may never serve a login (a worker).
   */
  private makeDecoy(): Promise<string> {
    const decoy = this.hash(randomBytes(12).toString('base64url'));
    decoy.catch(() => {
      if (this.decoy === decoy) this.decoy = undefined;
    });
    return decoy;
  }

  /** A new hash at today's cost; `normal` priority in the pool (registration, rehashing). */
  async hash(password: string): Promise<string> {
    const salt = randomBytes(SALT_LENGTH);
    const key = await this.derive(password, salt, this.cost, 'normal');
    const { N, r, p } = this.cost;
    return ['scrypt', N, r, p, salt.toString('base64url'), key.toString('base64url')].join('$');
  }

  /**
   * Checks a password against a stored hash at the hash's own cost, in the pool's `high` lane:
   * a login never waits behind registrations. `false` for a hash that is not one of ours.
   */
  async verify(password: string, stored: string): Promise<boolean> {
    const parsed = parseStored(stored);
    if (parsed === undefined) return false;
    const actual = await this.derive(password, parsed.salt, parsed.cost, 'high');
    return actual.length === parsed.key.length && timingSafeEqual(actual, parsed.key);
  }

  /** Spends the time of a real check, so an unknown email cannot be told by response time. */
  async verifyDecoy(password: string): Promise<false> {
    this.decoy ??= this.makeDecoy();
    await this.verify(password, await this.decoy);
    return false;
  }

  /** The stored hash is weaker than today's cost (or not ours): store a new one. */
  needsRehash(stored: string): boolean {
    const parsed = parseStored(stored);
    if (parsed === undefined) return true;
    const { N, r, p } = parsed.cost;
    return N < this.cost.N || r < this.cost.r || p < this.cost.p;
  }

  private async derive(
    password: string,
    salt: Buffer,
    cost: ScryptCost,
    priority: TaskPriority,
  ): Promise<Buffer> {
    if (!this.worker?.threads) return deriveOnLibuv(password, salt, cost);
    const key = await this.worker.run(
      DERIVE_KEY_TASK,
      { password, salt, keyLength: KEY_LENGTH, cost },
      { priority },
    );
    return Buffer.from(key.buffer, key.byteOffset, key.byteLength);
  }
}
