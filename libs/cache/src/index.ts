export * from './interfaces';
export { CacheModule } from './cache.module';
export { type CacheHealth, CacheService } from './cache.service';
export { CacheInterceptor } from './cache.interceptor';
export { Cached, CacheEvict, CachePut, HttpCache } from './cache.decorators';
export { formatCacheKey } from './cache-key';
export { type CachedBody, etagOf, jsonArrayOf, toCachedBody } from './http';
export { CACHE_NAMESPACE, CACHE_OPERATIONS_METRIC, CACHE_STATUS_HEADER } from './cache.constants';
