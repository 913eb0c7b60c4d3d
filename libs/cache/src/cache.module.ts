import { Module } from '@nestjs/common';
import { cacheOperationsCounter } from './cache.metrics';
import { CacheConfigurableModule } from './cache.module-definition';
import { CacheService } from './cache.service';
import { NotModifiedHook } from './http';

/**
 * The cache: {@link CacheService} for services, and the route decorators `@Cached()`,
 * `@CachePut()`, `@CacheEvict()`, `@HttpCache()`. Global by default (`isGlobal: false` to
 * import it where needed): decorated controllers live in every feature module.
 *
 * @example
 * CacheModule.forRootAsync({
 *   inject: [ConfigService],
 *   useFactory: (config: LoadstarConfigService) => ({
 *     redisUrl: config.get('redis', { infer: true }).url,
 *     defaultTtlMs: config.get('cache', { infer: true }).defaultTtlS * 1000,
 *   }),
 * })
 */
@Module({
  providers: [CacheService, NotModifiedHook, cacheOperationsCounter],
  exports: [CacheService],
})
export class CacheModule extends CacheConfigurableModule {}
