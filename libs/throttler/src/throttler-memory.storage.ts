import { OnApplicationShutdown } from '@nestjs/common';
import { RateLimitStorage, ThrottlerStorageRecord, windowRecord } from './throttler.storage';

/** One key's fixed window; mutated in place so a hit allocates nothing but its record. */
interface Window {
  hits: number;
  endsAt: number;
}

/** @default how often expired windows are dropped, in milliseconds */
const SWEEP_INTERVAL_MS = 60_000;

/**
 * Fixed-window counters in this process's memory: exact and cheap, but private to the process
 * (with several workers, every limit is multiplied by their number).
 */
export class MemoryThrottlerStorage implements RateLimitStorage, OnApplicationShutdown {
  private readonly windows = new Map<string, Window>();
  private readonly sweeper: NodeJS.Timeout;

  constructor(sweepIntervalMs = SWEEP_INTERVAL_MS) {
    this.sweeper = setInterval(() => this.sweep(Date.now()), sweepIntervalMs).unref();
  }

  increment(key: string, ttlMs: number, limit: number): Promise<ThrottlerStorageRecord> {
    return Promise.resolve(this.incrementNow(key, ttlMs, limit));
  }

  incrementNow(key: string, ttlMs: number, limit: number): ThrottlerStorageRecord {
    return this.hit(key, ttlMs, limit, Date.now());
  }

  /** Counts one hit at `now`; the window starts with the key's first hit. */
  hit(key: string, ttlMs: number, limit: number, now: number): ThrottlerStorageRecord {
    let window = this.windows.get(key);
    if (window === undefined) {
      window = { hits: 0, endsAt: now + ttlMs };
      this.windows.set(key, window);
    } else if (window.endsAt <= now) {
      window.hits = 0;
      window.endsAt = now + ttlMs;
    }
    window.hits += 1;
    return windowRecord(window.hits, window.endsAt - now, limit);
  }

  refund(key: string): Promise<void> {
    this.take(key, Date.now());
    return Promise.resolve();
  }

  reset(key: string): Promise<void> {
    this.windows.delete(key);
    return Promise.resolve();
  }

  /** Takes one hit back from `key`'s window open at `now`, if any. */
  take(key: string, now: number): void {
    const window = this.windows.get(key);
    if (window !== undefined && window.endsAt > now && window.hits > 0) window.hits -= 1;
  }

  /** Number of keys held (expired ones included until the next sweep). */
  get size(): number {
    return this.windows.size;
  }

  sweep(now: number): void {
    for (const [key, window] of this.windows) {
      if (window.endsAt <= now) this.windows.delete(key);
    }
  }

  onApplicationShutdown(): void {
    clearInterval(this.sweeper);
    this.windows.clear();
  }
}
