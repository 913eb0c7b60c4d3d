import type { FastifyRequest } from 'fastify';
import type { RedisConnectionOptions } from '@app/redis';

/** A `count/window` rate-limit tier, e.g. `600/1m`. */
export interface RateLimitTier {
  /** Requests allowed per window. */
  limit: number;
  /** Window length in milliseconds. */
  ttlMs: number;
  /**
   * With Redis: the share of `limit` (0–1) a process takes ahead for a key and hands out
   * without a round trip. Never admits more than the limit; a key may be refused up to about
   * one block per other process early. Blocks under 2 counts are not taken. Leave it unset on
   * tiers that refund or reset (failed logins) and where every count must be exact.
   * @default undefined (every hit is counted in Redis as it comes)
   * @example leaseShare: 0.01 // 600/1m: blocks of 6
   */
  leaseShare?: number;
}

/**
 * The application's tier names, one key per tier, declared by the application through module
 * augmentation, so `@RateLimit('typo')` fails to compile:
 *
 * @example
 * declare module '@app/throttler' {
 *   interface RateLimitTiers { default: RateLimitTier; expensive: RateLimitTier }
 * }
 */
// eslint-disable-next-line @typescript-eslint/no-empty-object-type -- filled by augmentation
export interface RateLimitTiers {}

/** A tier's name: a key of {@link RateLimitTiers}, any string while none is declared. */
export type RateLimitTierName = [keyof RateLimitTiers] extends [never]
  ? string
  : Extract<keyof RateLimitTiers, string>;

/**
 * Tells who is calling, before any route guard runs: the authenticated user's id, or
 * `undefined` for an anonymous (or unprovable) caller, who is then keyed by address.
 * Called on every limited request, so it must be cheap and synchronous.
 */
export type RateLimitIdentify = (request: FastifyRequest) => string | number | undefined;

/** Options of {@link RateLimitModule}. */
export interface RateLimitModuleOptions {
  /**
   * `false` limits nothing, whatever the decorators say: no counter, no header, no storage
   * connection (e.g. when a gateway in front already limits).
   * @default true
   */
  enabled?: boolean;
  /**
   * Named tiers (`count/window`); a tier that a decorator names and this lacks stops the start.
   * `default` applies to
   * every route in {@link scope}; the others only to routes decorated with `@RateLimit(name)`.
   */
  tiers: Record<string, RateLimitTier>;
  /**
   * When the storage is unreachable or slower than {@link storageTimeoutMs}: `true` lets the
   * request through, `false` answers `503`. Either way the failure is counted.
   */
  failOpen: boolean;
  /**
   * The Redis (one server, Sentinel or Cluster) shared by every process and instance, so
   * limits hold across all of them. Unset: counters stay in this process.
   * @default undefined
   */
  redisConnection?: RedisConnectionOptions;
  /**
   * HTTP worker processes; only used to warn at start that in-process counters would multiply
   * every limit by this number.
   * @default 0
   */
  clusterWorkers?: number;
  /**
   * Resolves the authenticated caller (see {@link RateLimitIdentify}).
   * @default undefined (every caller is keyed by address)
   * @example identify: (request) => verifyBearer(jwt, request)?.id
   */
  identify?: RateLimitIdentify;
  /**
   * Only routes whose path template starts with this are limited, so operations endpoints
   * (`/health`, `/metrics`, `/docs`) never are.
   * @default '/api'
   */
  scope?: string;
  /**
   * Prefix of every counter's key in the storage; apps sharing one Redis keep their counters
   * apart with different prefixes.
   * @default 'loadstar:rate-limit:'
   */
  keyPrefix?: string;
  /**
   * Milliseconds one storage check may take before it counts as a failure.
   * @default 250
   */
  storageTimeoutMs?: number;
  /**
   * Tiers counted in this process's memory while Redis is unreachable or too slow, instead of
   * following {@link failOpen}: limits that must never switch off (failed logins,
   * registrations) stay exact per process through an outage.
   * @default []
   * @example localFallbackTiers: ['auth', 'register']
   */
  localFallbackTiers?: readonly string[];
  /**
   * Longest delay between two attempts on an account slowed down by `@RateLimitFailures()`,
   * in milliseconds: the delay starts at 1 s and doubles with each failure up to this.
   * @default 60000
   */
  slowdownMaxDelayMs?: number;
}
