import type { ThrottlerStorage } from '@nestjs/throttler';

/** What a `@nestjs/throttler` storage reports for one hit (the package does not export it). */
export type ThrottlerStorageRecord = Awaited<ReturnType<ThrottlerStorage['increment']>>;

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
