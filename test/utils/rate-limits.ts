import { randomUUID } from 'node:crypto';
import type { ApiClient } from './api-client';

/**
 * Rate limits of test apps by default: suites that are not about rate limiting register and
 * log in many users from 127.0.0.1, which the production limits rightly refuse. Short windows,
 * so their counters leave a shared Redis at once. Suites about limits pass their own.
 */
export const RELAXED_RATE_LIMITS = {
  RATE_LIMIT_DEFAULT: '1000000/1s',
  RATE_LIMIT_AUTH: '1000000/1s',
  RATE_LIMIT_AUTH_ACCOUNT_ADDRESS: '1000000/1s',
  RATE_LIMIT_AUTH_ACCOUNT: '1000000/1s',
  RATE_LIMIT_REGISTER: '1000000/1s',
  RATE_LIMIT_EXPENSIVE: '1000000/1s',
};

/** Overrides that restore the built-in limits (docs/configuration.md). */
export const CONTRACT_RATE_LIMITS: Record<keyof typeof RELAXED_RATE_LIMITS, undefined> = {
  RATE_LIMIT_DEFAULT: undefined,
  RATE_LIMIT_AUTH: undefined,
  RATE_LIMIT_AUTH_ACCOUNT_ADDRESS: undefined,
  RATE_LIMIT_AUTH_ACCOUNT: undefined,
  RATE_LIMIT_REGISTER: undefined,
  RATE_LIMIT_EXPENSIVE: undefined,
};

/**
 * A `RATE_LIMIT_KEY_PREFIX` no other app uses: on the shared Redis, every test app (and every
 * concurrent run) then counts alone. Processes meant to share limits are given the same one.
 */
export function privateRateLimitKeyPrefix(): string {
  return `loadstar-test:${randomUUID()}:`;
}

/** Statuses of `count` sequential GETs to `path`, all from the client `address` (a trusted proxy's `X-Forwarded-For`). */
export async function sequentialStatuses(
  api: ApiClient,
  path: string,
  count: number,
  address: string,
): Promise<number[]> {
  const seen: number[] = [];
  for (let i = 0; i < count; i++) {
    seen.push((await api.get(path, { headers: { 'x-forwarded-for': address } })).status);
  }
  return seen;
}
