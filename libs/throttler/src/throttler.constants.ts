/** Metadata of `@RateLimit(tier)`: the named tier a route or controller joins. */
export const RATE_LIMIT_TIER = 'loadstar:throttler:tier';

/** Metadata of `@SkipRateLimit()`: `true` (every tier) or the names of the skipped tiers. */
export const RATE_LIMIT_SKIP = 'loadstar:throttler:skip';

/**
 * Prefix of the metadata `@SkipThrottle()` of `@nestjs/throttler` writes (`THROTTLER:SKIP<tier>`);
 * the package does not export it. Honoured so that Nest's decorator means the same here.
 */
export const NEST_SKIP_METADATA_PREFIX = 'THROTTLER:SKIP';

/** Prefixes of the metadata `@Throttle({ <name>: … })` of `@nestjs/throttler` writes per name. */
export const NEST_LIMIT_METADATA_PREFIX = 'THROTTLER:LIMIT';
export const NEST_TTL_METADATA_PREFIX = 'THROTTLER:TTL';
export const NEST_BLOCK_DURATION_METADATA_PREFIX = 'THROTTLER:BLOCK_DURATION';
export const NEST_TRACKER_METADATA_PREFIX = 'THROTTLER:TRACKER';
export const NEST_KEY_GENERATOR_METADATA_PREFIX = 'THROTTLER:KEY_GENERATOR';

/** The tier every route in scope belongs to, whatever else it joins. */
export const DEFAULT_TIER = 'default';

/** @default path prefix of the limited routes (operations endpoints live outside it) */
export const DEFAULT_SCOPE = '/api';

/** @default prefix of every counter's key in the shared storage */
export const DEFAULT_KEY_PREFIX = 'loadstar:rate-limit:';

/**
 * @default milliseconds a storage check may take before it counts as a failure: generous for
 * a Redis round trip (well under 1 ms on a LAN), short enough that an outage never stalls a request.
 */
export const DEFAULT_STORAGE_TIMEOUT_MS = 250;

/** Counter of requests refused with `429`, labelled by `tier`. */
export const RATE_LIMIT_REJECTIONS_METRIC = 'rate_limit_rejections_total';

/** Counter of limiter checks that failed because the storage was unreachable or too slow. */
export const RATE_LIMIT_STORAGE_FAILURES_METRIC = 'rate_limit_storage_failures_total';

/** Metadata of `@RateLimitFailures()`: its options. */
export const RATE_LIMIT_FAILURES = 'loadstar:throttler:failures';

/** First delay of a slowed-down subject, in milliseconds; each further failure doubles it. */
export const FIRST_SLOWDOWN_DELAY_MS = 1_000;

/** @default longest delay between two attempts on a slowed-down subject, in milliseconds */
export const DEFAULT_SLOWDOWN_MAX_DELAY_MS = 60_000;
