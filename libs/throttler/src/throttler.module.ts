import { DynamicModule, Logger, Module } from '@nestjs/common';
import { DiscoveryModule } from '@nestjs/core';
import { ThrottlerModule, ThrottlerModuleOptions, ThrottlerStorage } from '@nestjs/throttler';
import { makeCounterProvider } from '@willsoto/nestjs-prometheus';
import {
  DEFAULT_STORAGE_TIMEOUT_MS,
  RATE_LIMIT_REJECTIONS_METRIC,
  RATE_LIMIT_STORAGE_FAILURES_METRIC,
} from './throttler.constants';
import { RateLimitGuard } from './throttler.guard';
import { NestThrottleCheck } from './throttler.nest-metadata';
import { RateLimitFailuresService } from './throttler-failures.service';
import { MemoryThrottlerStorage } from './throttler-memory.storage';
import {
  RATE_LIMIT_ASYNC_OPTIONS_TYPE,
  RATE_LIMIT_MODULE_OPTIONS,
  RATE_LIMIT_OPTIONS_TYPE,
  RateLimitOptionsModule,
} from './throttler.module-definition';
import { RedisThrottlerStorage } from './throttler-redis.storage';
import { RateLimitModuleOptions } from './interfaces';

/**
 * Redis when a connection is configured, so every process shares the counters; otherwise this
 * process's memory, with a warning when several workers would each count alone.
 */
function createStorage(options: RateLimitModuleOptions): ThrottlerStorage {
  if (options.enabled === false) return new MemoryThrottlerStorage();
  if (options.redisConnection) {
    return new RedisThrottlerStorage(
      options.redisConnection,
      options.storageTimeoutMs ?? DEFAULT_STORAGE_TIMEOUT_MS,
      new Set(options.localFallbackTiers),
      new Map(
        Object.entries(options.tiers)
          .filter(([, tier]) => (tier.leaseShare ?? 0) > 0)
          .map(([name, tier]) => [name, tier.leaseShare!]),
      ),
    );
  }
  const workers = options.clusterWorkers ?? 0;
  if (workers > 0) {
    new Logger('RateLimit').warn(
      `CLUSTER_WORKERS=${workers} without REDIS_URL: each worker counts requests alone, so every ` +
        `rate limit is multiplied by ${workers}; set REDIS_URL to share the counters`,
    );
  }
  return new MemoryThrottlerStorage();
}

/** The tiers as `@nestjs/throttler` throttlers, with loadstar's storage. */
function toThrottlerOptions(options: RateLimitModuleOptions): ThrottlerModuleOptions {
  return {
    throttlers: Object.entries(options.tiers).map(([name, tier]) => ({
      name,
      limit: tier.limit,
      ttl: tier.ttlMs,
    })),
    storage: createStorage(options),
  };
}

/**
 * Rate limiting in named tiers on `@nestjs/throttler` 6: the tiers become its throttlers and
 * its storage token holds loadstar's (Redis, or in-process). Exports {@link RateLimitGuard}, for
 * the application to install globally; routes pick tiers with `@RateLimit` / `@SkipRateLimit`,
 * and credential checks count failures with `@RateLimitFailures` (whose interceptor needs the
 * exported {@link RateLimitFailuresService}: `isGlobal: true` when such routes live in other
 * modules). Counts `rate_limit_rejections_total{tier}` and `rate_limit_storage_failures_total`.
 *
 * @example
 * RateLimitModule.forRootAsync({
 *   isGlobal: true,
 *   inject: [JwtService],
 *   useFactory: (jwt: JwtService) => ({
 *     tiers: { default: { limit: 600, ttlMs: 60_000 } },
 *     failOpen: true,
 *     redisConnection: { url: 'redis://127.0.0.1:6379' },
 *     identify: (request) => verifyBearer(jwt, request)?.id,
 *   }),
 * }),
 * // providers: [{ provide: APP_GUARD, useExisting: RateLimitGuard }]
 */
@Module({})
export class RateLimitModule {
  static forRoot(options: typeof RATE_LIMIT_OPTIONS_TYPE): DynamicModule {
    return RateLimitModule.assemble(RateLimitOptionsModule.forRoot(options));
  }

  static forRootAsync(options: typeof RATE_LIMIT_ASYNC_OPTIONS_TYPE): DynamicModule {
    return RateLimitModule.assemble(RateLimitOptionsModule.forRootAsync(options));
  }

  private static assemble({ global, ...definition }: DynamicModule): DynamicModule {
    const optionsModule: DynamicModule = { ...definition, exports: [RATE_LIMIT_MODULE_OPTIONS] };
    return {
      module: RateLimitModule,
      global,
      imports: [
        DiscoveryModule,
        optionsModule,
        ThrottlerModule.forRootAsync({
          imports: [optionsModule],
          inject: [RATE_LIMIT_MODULE_OPTIONS],
          useFactory: toThrottlerOptions,
        }),
      ],
      providers: [
        makeCounterProvider({
          name: RATE_LIMIT_REJECTIONS_METRIC,
          help: 'Requests refused with 429, by rate-limit tier',
          labelNames: ['tier'],
        }),
        makeCounterProvider({
          name: RATE_LIMIT_STORAGE_FAILURES_METRIC,
          help: 'Rate-limit checks that failed because the storage was unreachable or too slow',
        }),
        RateLimitGuard,
        RateLimitFailuresService,
        NestThrottleCheck,
      ],
      exports: [RateLimitGuard, RateLimitFailuresService],
    };
  }
}
