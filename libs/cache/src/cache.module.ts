import { Module } from '@nestjs/common';
import { CACHE_MANAGER } from '@nestjs/cache-manager';
import { cacheManagerProvider, NestCacheInterceptorPrivacy } from './cache-manager';
import { cacheOperationsCounter } from './cache.metrics';
import { CACHE_MODULE_OPTIONS, CacheConfigurableModule } from './cache.module-definition';
import { CacheRouteCheck } from './cache.route-check';
import { CacheService } from './cache.service';
import { NotModifiedHook } from './http';
import { CacheFastPath } from './http/fast-path.hook';

/**
 * The cache: {@link CacheService} for services, and the route decorators `@Cached()`,
 * `@CachePut()`, `@CacheEvict()`, `@HttpCache()`. Also `@nestjs/cache-manager`'s
 * `CACHE_MANAGER`, on the same tiers and as coherent across processes, for
 * `@Inject(CACHE_MANAGER)` and Nest's `CacheInterceptor` with `@CacheKey()`/`@CacheTTL()`
 * (without Nest's own `CacheModule.register()`). Global by default (`isGlobal: false` to
 * import it where needed): decorated controllers live in every feature module.
 *
 * @example
 * CacheModule.forRoot({
 *   redisConnection: { url: 'redis://127.0.0.1:6379' },
 *   defaultTtlMs: 60_000,
 * })
 */
@Module({
  providers: [
    CacheService,
    NotModifiedHook,
    CacheFastPath,
    cacheOperationsCounter,
    cacheManagerProvider,
    NestCacheInterceptorPrivacy,
    CacheRouteCheck,
  ],
  // the options too: each module with a cache decorator makes its own CacheInterceptor
  exports: [CacheService, CACHE_MANAGER, CACHE_MODULE_OPTIONS],
})
export class CacheModule extends CacheConfigurableModule {}
