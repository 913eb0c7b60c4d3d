export * from './interfaces';
export { RateLimitModule } from './throttler.module';
export { RateLimitGuard } from './throttler.guard';
export { RateLimitFailuresService } from './throttler-failures.service';
export {
  RateLimit,
  RateLimitFailures,
  RateLimitFailuresOptions,
  RateLimitKeySource,
  RateLimitOptions,
  SkipRateLimit,
} from './throttler.decorators';
export {
  RATE_LIMIT_REJECTIONS_METRIC,
  RATE_LIMIT_STORAGE_FAILURES_METRIC,
} from './throttler.constants';
