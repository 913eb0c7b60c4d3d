import type { RateLimitTier } from '@app/throttler';

declare module '@app/throttler' {
  /**
   * loadstar's tiers (`RATE_LIMIT_<TIER>` in docs/configuration.md): `default` for every API
   * route, `expensive` for exports and imports, and the login and registration ones. `auth`
   * counts failed logins per address, `authAccountAddress` per (address, account),
   * `authAccount` per account (its limit starts the slowdown).
   */
  interface RateLimitTiers {
    default: RateLimitTier;
    auth: RateLimitTier;
    authAccountAddress: RateLimitTier;
    authAccount: RateLimitTier;
    register: RateLimitTier;
    expensive: RateLimitTier;
  }
}

/**
 * Tiers that guard credentials: while Redis is away they are counted in each process instead
 * of following `RATE_LIMIT_FAIL_OPEN`, so losing Redis never switches login throttling off.
 */
export const CREDENTIAL_TIERS = ['auth', 'authAccountAddress', 'authAccount', 'register'] as const;
