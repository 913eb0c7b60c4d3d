import type { ThrottlerStorage } from '@nestjs/throttler';

/** What a `@nestjs/throttler` storage reports for one hit (the package does not export it). */
export type ThrottlerStorageRecord = Awaited<ReturnType<ThrottlerStorage['increment']>>;

/**
 * loadstar's storages: `@nestjs/throttler`'s `increment`, plus taking hits back, which limits
 * that count only failures need (a hit reserved before the attempt is refunded when it was
 * not a failure). Neither extra ever rejects: a refund or reset that cannot reach the storage
 * leaves the counter higher, which only errs on the strict side.
 */
export interface RateLimitStorage extends ThrottlerStorage {
  /**
   * One hit's count when the storage has it at once (process memory, a lease of counts taken
   * from Redis ahead), else `undefined`, and `increment` counts it. Never fails.
   */
  incrementNow(
    key: string,
    ttlMs: number,
    limit: number,
    tier: string,
  ): ThrottlerStorageRecord | undefined;
  /**
   * Takes one hit back from `key`'s current window; nothing when the window has ended.
   * @param tier the tier the key counts for (decides the fallback during an outage)
   */
  refund(key: string, tier: string): Promise<void>;
  /** Ends `key`'s window: its next hit starts a new one, counted from 1. */
  reset(key: string, tier: string): Promise<void>;
}

/**
 * A fixed window's count in the shape `@nestjs/throttler` storages report (times in whole
 * seconds, never 0 while the window is open); `isBlocked` once the hits exceed the limit.
 */
export function windowRecord(hits: number, msLeft: number, limit: number): ThrottlerStorageRecord {
  const timeToExpire = Math.max(1, Math.ceil(msLeft / 1_000));
  const isBlocked = hits > limit;
  return {
    totalHits: hits,
    timeToExpire,
    isBlocked,
    timeToBlockExpire: isBlocked ? timeToExpire : 0,
  };
}
