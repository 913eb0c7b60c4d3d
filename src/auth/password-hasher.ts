import { randomBytes, scrypt, timingSafeEqual } from 'node:crypto';
import { Injectable, Optional } from '@nestjs/common';
import { WorkerService } from '@app/worker';
import { DERIVE_KEY_TASK } from './auth.tasks';

/** scrypt cost: N=2^14, r=8, p=1 uses 16 MiB per hash (OWASP's minimum for scrypt). */
const COST = { N: 16_384, r: 8, p: 1, maxmem: 64 * 1024 * 1024 };
const KEY_LENGTH = 32;
const SALT_LENGTH = 16;

type ScryptCost = typeof COST;

function deriveOnLibuv(password: string, salt: Buffer, cost: ScryptCost): Promise<Buffer> {
  return new Promise((resolve, reject) =>
    scrypt(password, salt, KEY_LENGTH, cost, (error, key) =>
      error ? reject(error) : resolve(key),
    ),
  );
}

/**
 * Memory-hard password hashing with scrypt, off the event loop: in the worker pool when it has
 * threads (measured better than libuv's thread pool: see the README), else
 * (`WORKER_OFFLOAD=false`, or no pool as in the seed script) on libuv's thread pool through `crypto.scrypt`. Stored as
 * `scrypt$N$r$p$salt$key` (base64url) so the cost can grow without invalidating old hashes.
 */
@Injectable()
export class PasswordHasher {
  private readonly decoy: Promise<string>;

  constructor(@Optional() private readonly worker?: WorkerService) {
    this.decoy = this.hash(randomBytes(12).toString('base64url'));
  }

  async hash(password: string): Promise<string> {
    const salt = randomBytes(SALT_LENGTH);
    const key = await this.derive(password, salt, COST);
    return [
      'scrypt',
      COST.N,
      COST.r,
      COST.p,
      salt.toString('base64url'),
      key.toString('base64url'),
    ].join('$');
  }

  async verify(password: string, stored: string): Promise<boolean> {
    const [scheme, n, r, p, salt, key] = stored.split('$');
    if (scheme !== 'scrypt' || !salt || !key) return false;
    const expected = Buffer.from(key, 'base64url');
    const cost = { N: Number(n), r: Number(r), p: Number(p), maxmem: COST.maxmem };
    const actual = await this.derive(password, Buffer.from(salt, 'base64url'), cost);
    return actual.length === expected.length && timingSafeEqual(actual, expected);
  }

  /** Spends the time of a real check, so an unknown email cannot be told by response time. */
  async verifyDecoy(password: string): Promise<false> {
    await this.verify(password, await this.decoy);
    return false;
  }

  private async derive(password: string, salt: Buffer, cost: ScryptCost): Promise<Buffer> {
    if (!this.worker?.threads) return deriveOnLibuv(password, salt, cost);
    const key = await this.worker.run(DERIVE_KEY_TASK, {
      password,
      salt,
      keyLength: KEY_LENGTH,
      cost,
    });
    return Buffer.from(key.buffer, key.byteOffset, key.byteLength);
  }
}
