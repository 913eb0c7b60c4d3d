import { applyDecorators, SetMetadata, UseInterceptors } from '@nestjs/common';
import { INTERCEPTORS_METADATA } from '@nestjs/common/constants';
import { FASTIFY_ROUTE_CONFIG_METADATA } from '@nestjs/platform-fastify/constants';
import { ApiHeader, ApiResponse } from '@nestjs/swagger';
import { CacheInterceptor } from './cache.interceptor';
import {
  CACHE_EVICT_METADATA,
  CACHE_PUT_METADATA,
  CACHE_STATUS_HEADER,
  CACHED_METADATA,
  CACHED_ROUTE_CONFIG,
  HTTP_CACHE_METADATA,
} from './cache.constants';
import type { CachedRoute } from './http/fast-path.hook';
import { CachedOptions, CacheEvictOptions, CachePutOptions, HttpCacheOptions } from './interfaces';

/**
 * Binds {@link CacheInterceptor} once, however many cache decorators a route has: one
 * interceptor reads them all, so the hot path pays for one.
 */
function UseCacheInterceptor(): MethodDecorator {
  return (target, propertyKey, descriptor) => {
    const bound = (Reflect.getMetadata(INTERCEPTORS_METADATA, descriptor.value as object) ??
      []) as unknown[];
    if (!bound.includes(CacheInterceptor)) {
      UseInterceptors(CacheInterceptor)(target, propertyKey, descriptor);
    }
  };
}

/**
 * Puts the route's controller and handler into its Fastify route config, where the cache fast
 * path (`CacheFastPath`) finds them from a Fastify hook, before Nest's router runs.
 */
function ExposeCachedRoute(): MethodDecorator {
  return (target, _propertyKey, descriptor) => {
    const handler = descriptor.value as object;
    const config = (Reflect.getMetadata(FASTIFY_ROUTE_CONFIG_METADATA, handler) ?? {}) as object;
    const route: CachedRoute = { controller: target.constructor, handler };
    Reflect.defineMetadata(
      FASTIFY_ROUTE_CONFIG_METADATA,
      { ...config, [CACHED_ROUTE_CONFIG]: route },
      handler,
    );
  };
}

const conditionalRequestDocs = [
  ApiHeader({
    name: 'If-None-Match',
    required: false,
    description: 'the ETag of a copy the client holds: 304 without a body when it is current',
  }),
  ApiResponse({ status: 304, description: 'Not Modified: the copy of `If-None-Match` is current' }),
];

/**
 * Cache-aside for a GET route: the serialized response is cached under `key` (filled from
 * route parameters and `{user}`), with an `ETag` computed once. A hit skips the handler,
 * serialization and hashing; a miss runs the handler once for all concurrent requests of
 * every process; while Redis is away the route is served from the in-process LRU and the
 * database. Sets `X-Cache: HIT | MISS | STALE`. Only successful responses are cached.
 *
 * @example
 * @Get(':id')
 * @Cached({ key: 'user:{id}' })
 * get(@Param('id', ParseIdPipe) id: number) { … }
 */
export function Cached<T = unknown>(options: CachedOptions<T>): MethodDecorator {
  return applyDecorators(
    SetMetadata(CACHED_METADATA, options),
    UseCacheInterceptor(),
    ExposeCachedRoute(),
    ...conditionalRequestDocs,
    ApiResponse({
      status: 200,
      description: `served cache-aside (\`${CACHE_STATUS_HEADER}\` tells HIT, MISS or STALE)`,
    }),
  );
}

/**
 * Write-through: once the handler succeeded, its result (or `value(result)`) is cached under
 * each key, in every tier, and other processes drop their in-process copies, before the
 * response leaves. The next read, on any instance, is a hit with the new value. Give all the
 * writes of a route in one `@CachePut()`.
 *
 * @example
 * @CachePut({ key: 'me:{user}' }, { key: 'user:{id}', value: toPublicUser })
 */
export function CachePut<T = unknown>(...entries: CachePutOptions<T>[]): MethodDecorator {
  return applyDecorators(SetMetadata(CACHE_PUT_METADATA, entries), UseCacheInterceptor());
}

/**
 * Eviction: once the handler succeeded, the keys and every entry tagged with the tags are
 * removed from every tier of every process, before the response leaves.
 *
 * @example
 * @CacheEvict({ keys: ['dashboard:{user}'], tags: ['user:{id}'] })
 */
export function CacheEvict(options: CacheEvictOptions): MethodDecorator {
  return applyDecorators(SetMetadata(CACHE_EVICT_METADATA, options), UseCacheInterceptor());
}

/**
 * HTTP caching: `Cache-Control` for clients and shared caches, an `ETag`, and `304 Not
 * Modified` (no body) for a matching `If-None-Match`. With `@Cached()` the tag comes with the
 * cached entry; otherwise the result is hashed per response (once, for a frozen result).
 *
 * @example
 * @HttpCache({ visibility: 'public', maxAge: 60 })
 */
export function HttpCache(options: HttpCacheOptions): MethodDecorator {
  return applyDecorators(
    SetMetadata(HTTP_CACHE_METADATA, options),
    UseCacheInterceptor(),
    ...conditionalRequestDocs,
  );
}
