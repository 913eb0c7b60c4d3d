import type { HealthIndicatorResult } from '@nestjs/terminus';
import { CHECK } from './health.constants';

/**
 * What a failed connection to a dependency was, in words that name no host, address, user or
 * URL: drivers put those in their messages (`connect ECONNREFUSED 10.0.3.7:5432`,
 * `getaddrinfo ENOTFOUND pg.internal`, `password authentication failed for user "app"`).
 */
const CAUSES: readonly (readonly [RegExp, string])[] = [
  [/password|WRONGPASS|NOAUTH|authenticat/i, 'authentication failed'],
  [/ECONNREFUSED/, 'connection refused'],
  [/ENOTFOUND|EAI_AGAIN|getaddrinfo/, 'host not found'],
  [/SSL|TLS|certificate|self[- ]signed/i, 'TLS handshake failed'],
  [/timeout|timed out|ETIMEDOUT|no answer within/i, 'timed out'],
];

/** Parts whose failure messages come from a driver, and may name the dependency. */
const DEPENDENCIES: ReadonlySet<string> = new Set([CHECK.database, CHECK.redis]);

function causeOf(message: unknown): string {
  const text = typeof message === 'string' ? message : '';
  return CAUSES.find(([pattern]) => pattern.test(text))?.[1] ?? 'unavailable';
}

/**
 * A copy of `details` safe for a public answer: each dependency that is down keeps its status
 * and a cause from a fixed list (`connection refused`, `timed out`, …) instead of the
 * driver's message. The full messages still go to the log.
 *
 * @example redactDetails({ database: { status: 'down', message: 'connect ECONNREFUSED 10.0.3.7:5432' } })
 * // { database: { status: 'down', message: 'connection refused' } }
 */
export function redactDetails<T extends Partial<HealthIndicatorResult>>(details: T): T {
  const redacted: Partial<HealthIndicatorResult> = {};
  for (const [part, detail] of Object.entries(details)) {
    redacted[part] =
      detail && DEPENDENCIES.has(part) && detail.status !== 'up'
        ? { status: detail.status, message: causeOf(detail.message) }
        : detail;
  }
  return redacted as T;
}
