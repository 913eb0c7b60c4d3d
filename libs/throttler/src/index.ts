export * from './interfaces';
export { RateLimitModule } from './throttler.module';
export { RateLimitGuard } from './throttler.guard';
export { RateLimitFailuresService } from './throttler-failures.service';
export {
  RateLimit,
  RateLimitFailures,
  type RateLimitFailuresOptions,
  type RateLimitKeySource,
  type RateLimitOptions,
  SkipRateLimit,
} from './throttler.decorators';
export {
  DEFAULT_KEY_PREFIX as DEFAULT_RATE_LIMIT_KEY_PREFIX,
  RATE_LIMIT_REJECTIONS_METRIC,
  RATE_LIMIT_STORAGE_FAILURES_METRIC,
} from './throttler.constants';
