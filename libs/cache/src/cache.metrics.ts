import { makeCounterProvider } from '@willsoto/nestjs-prometheus';
import type { Counter } from 'prom-client';
import { CACHE_OPERATIONS_METRIC } from './cache.constants';

/** What one cache counted since the last scrape. */
export interface CacheTally {
  hit: number;
  miss: number;
  stale: number;
  /** Redis operations that failed, or were skipped while Redis was unavailable. */
  error: number;
}

const RESULTS = ['hit', 'miss', 'stale', 'error'] as const;

/**
 * Per process, like prom-client's default registry that holds the counter. The hot path adds
 * to a plain number; labels are hashed only when the counter is scraped.
 */
const tallies = new Map<string, CacheTally>();

/** The tally of a cache (`user`, `post`, … or `redis` for store-level failures). */
export function cacheTally(cache: string): CacheTally {
  let tally = tallies.get(cache);
  if (tally === undefined) tallies.set(cache, (tally = { hit: 0, miss: 0, stale: 0, error: 0 }));
  return tally;
}

function addTallies(this: Counter<string>): void {
  for (const [cache, tally] of tallies) {
    for (const result of RESULTS) {
      if (tally[result] === 0) continue;
      this.inc({ cache, result }, tally[result]);
      tally[result] = 0;
    }
  }
}

/** `cache_operations_total{cache, result}`, brought up to date at every scrape. */
export const cacheOperationsCounter = makeCounterProvider({
  name: CACHE_OPERATIONS_METRIC,
  help: 'Cache reads by result (hit, miss, stale) and failed or skipped Redis operations (error)',
  labelNames: ['cache', 'result'],
  collect: addTallies,
});
