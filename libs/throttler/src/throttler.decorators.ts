import { applyDecorators, SetMetadata } from '@nestjs/common';
import { ApiTooManyRequestsResponse } from '@nestjs/swagger';
import type { RateLimitTierName } from '@app/config';
import { RATE_LIMIT_SKIP, RATE_LIMIT_TIER } from './throttler.constants';

/**
 * What a tier's counter is keyed by on a route:
 * - `client`: the authenticated user's id, else the client address;
 * - `address`: the client address, even for an authenticated caller;
 * - `body.<field>`: a string field of the JSON body, trimmed and lower-cased (requests without
 *   it are not counted under this key).
 */
export type RateLimitKeySource = 'client' | 'address' | `body.${string}`;

/** Options of {@link RateLimit}. */
export interface RateLimitOptions {
  /**
   * One counter per source; the request is refused when any of them is over the limit.
   * @default ['client']
   * @example { by: ['address', 'body.email'] } // slows credential stuffing whichever it rotates
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
 * @Post('login')
 * @RateLimit('auth', { by: ['address', 'body.email'] })
 * login(@Body() input: LoginDto) { … }
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
