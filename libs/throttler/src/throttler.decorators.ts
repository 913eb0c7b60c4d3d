import { applyDecorators, SetMetadata, UseInterceptors } from '@nestjs/common';
import { ApiResponse, ApiTooManyRequestsResponse } from '@nestjs/swagger';
import { RATE_LIMIT_FAILURES, RATE_LIMIT_SKIP, RATE_LIMIT_TIER } from './throttler.constants';
import { RateLimitFailuresInterceptor } from './throttler-failures.interceptor';
import type { RateLimitTierName } from './interfaces';

/**
 * What a tier's counter is keyed by on a route:
 * - `client`: the authenticated user's id, else the client address;
 * - `user`: the authenticated user's id; an anonymous caller is not counted under this key
 *   (pair it with `address`, so that switching accounts from one address is no fresh budget);
 * - `address`: the client address, even for an authenticated caller;
 * - `body.<field>`: a string field of the JSON body, trimmed and lower-cased (requests without
 *   it are not counted under this key).
 */
export type RateLimitKeySource = 'client' | 'user' | 'address' | `body.${string}`;

/** Options of {@link RateLimit}. */
export interface RateLimitOptions {
  /**
   * One counter per source; the request is refused when any of them is over the limit.
   * @default ['client']
   * @example { by: ['user', 'address'] } // N accounts from one address share its budget
   */
  by?: readonly RateLimitKeySource[];
}

/** Metadata written by {@link RateLimit}. */
export interface RateLimitSelection {
  tier: string;
  by: readonly RateLimitKeySource[];
}

/**
 * Puts a route (or every route of a controller) in a named tier, on top of `default`: each
 * request then counts against both. A tier is one budget per key, shared by all its routes.
 * A method's tier beats its controller's.
 *
 * @example
 * @Get('export')
 * @RateLimit('expensive', { by: ['user', 'address'] })
 * export(@Query() query: ExportQuery) { … }
 */
export function RateLimit(
  tier: RateLimitTierName,
  options: RateLimitOptions = {},
): MethodDecorator & ClassDecorator {
  const selection: RateLimitSelection = { tier, by: options.by ?? ['client'] };
  return applyDecorators(
    SetMetadata(RATE_LIMIT_TIER, selection),
    ApiTooManyRequestsResponse({
      description: `rate limit of tier "${tier}" exceeded; Retry-After gives the seconds to wait`,
    }),
  );
}

/**
 * Exempts a route or controller from every tier, or only from the tiers named. (A bare
 * `@SkipThrottle()` of `@nestjs/throttler` skips only `default`.)
 *
 * @example @SkipRateLimit() // never limited
 * @example @SkipRateLimit('default') // only its named tier applies
 */
export function SkipRateLimit(...tiers: RateLimitTierName[]): MethodDecorator & ClassDecorator {
  return SetMetadata(RATE_LIMIT_SKIP, tiers.length === 0 ? true : tiers);
}

/** Options of {@link RateLimitFailures}: the account field and the tier of each counter. */
export interface RateLimitFailuresOptions {
  /** The account an attempt is for: a string field of the JSON body (trimmed, lower-cased). */
  subject: `body.${string}`;
  /** Failures per client address, whatever the account: refused past the tier's limit. */
  byAddress: RateLimitTierName;
  /**
   * Failures per (address, account): refused past the tier's limit; a success resets it, so an
   * attacker spends their own budget, never the account owner's.
   */
  byAddressAndSubject: RateLimitTierName;
  /**
   * Failures per account from any address: past the tier's limit the account is slowed down,
   * not locked: one attempt per delay, the delay doubling from 1 s with each further failure
   * up to the module's `slowdownMaxDelayMs`; attempts in between get 429 with `Retry-After`.
   */
  bySubject: RateLimitTierName;
  /**
   * The response status of a failed attempt. Only these count; a success takes back its
   * reservations (and resets the address-and-account counter), any other status too.
   * @default 401
   */
  failureStatus?: number;
}

/**
 * Throttles guessing on a credential-checking route (login) by counting failures, not requests,
 * after the OWASP authentication guidance: one counter per address, one per (address,
 * account), and a slowdown per account (see {@link RateLimitFailuresOptions}). A failure is
 * reserved (counted) before the handler runs, so concurrent attempts never all pass a check,
 * and taken back when the attempt did not fail. A refused attempt is `429` with
 * `Retry-After`. Never fails open: while the storage is unreachable its tiers must be among
 * the module's `localFallbackTiers` (counted in process), or the route answers 503.
 *
 * @example
 * @Post('login')
 * @RateLimitFailures({
 *   subject: 'body.email',
 *   byAddress: 'auth',
 *   byAddressAndSubject: 'authAccountAddress',
 *   bySubject: 'authAccount',
 * })
 * login(@Body() input: LoginDto) { … }
 */
export function RateLimitFailures(options: RateLimitFailuresOptions): MethodDecorator {
  return applyDecorators(
    SetMetadata(RATE_LIMIT_FAILURES, options),
    UseInterceptors(RateLimitFailuresInterceptor),
    ApiTooManyRequestsResponse({
      description: 'too many failed attempts, or the account is slowed down; see Retry-After',
    }),
    ApiResponse({
      status: options.failureStatus ?? 401,
      description: 'a failed attempt (counted against the limits)',
    }),
  );
}
