import {
  CallHandler,
  ExecutionContext,
  Inject,
  Injectable,
  Logger,
  NestInterceptor,
} from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { reuseEncodedForms } from '@app/http';
import { from, lastValueFrom, map, mergeMap, Observable, of } from 'rxjs';
import { CacheKeySource, compileCacheKey, CompiledCacheKey } from './cache-key';
import { CACHE_MODULE_OPTIONS } from './cache.module-definition';
import { CacheService } from './cache.service';
import {
  CACHE_EVICT_METADATA,
  CACHE_PUT_METADATA,
  CACHE_STATUS_HEADER,
  CACHED_METADATA,
  HTTP_CACHE_METADATA,
} from './cache.constants';
import { CachedBody, encodedFormsOf, etagMatches, markNotModified, toCachedBody } from './http';
import {
  CachedOptions,
  CacheEvictOptions,
  CacheModuleOptions,
  CachePeekOptions,
  CachePutOptions,
  CacheReadOptions,
  CacheReadStatus,
  HttpCacheOptions,
} from './interfaces';

type CacheableRequest = FastifyRequest & CacheKeySource;

/** `@Cached()` of a route, compiled. @internal */
export interface ReadPlan {
  key: CompiledCacheKey;
  peek: CachePeekOptions;
  options: CacheReadOptions<CachedBody>;
  tags?: (result: unknown) => string[];
}

/** Everything the cache decorators of one route ask for, resolved at its first request. @internal */
export interface RoutePlan {
  read?: ReadPlan;
  puts: Array<{ key: CompiledCacheKey; value?: (result: unknown) => unknown; ttl?: number }>;
  evictKeys: CompiledCacheKey[];
  evictTags: CompiledCacheKey[];
  /** `Cache-Control` of `@HttpCache()`; `undefined` without it. */
  cacheControl?: string;
  /** The response carries an `ETag` and answers `If-None-Match`. */
  conditional: boolean;
}

const JSON_CONTENT_TYPE = 'application/json; charset=utf-8';
const STATUS_HEADER_VALUES: Record<CacheReadStatus, string> = {
  hit: 'HIT',
  miss: 'MISS',
  stale: 'STALE',
};

function cacheControlOf(options: HttpCacheOptions): string {
  const directives: string[] = [options.visibility];
  if (options.noCache) directives.push('no-cache');
  if (options.maxAge !== undefined) directives.push(`max-age=${options.maxAge}`);
  return directives.join(', ');
}

/**
 * The one interceptor behind `@Cached()`, `@CachePut()`, `@CacheEvict()` and `@HttpCache()`.
 * Reads serve the cached, already serialized body with its precomputed `ETag`; writes run
 * after the handler succeeded (and its transaction committed, with `deferWrites`) and before
 * the response leaves, so the next read anywhere sees them. A cache failure never fails the
 * request.
 */
@Injectable()
export class CacheInterceptor implements NestInterceptor {
  private readonly logger = new Logger('Cache');
  private readonly plans = new WeakMap<object, RoutePlan>();
  /** Frozen results (constant per process, like `GET /api/config`) are serialized once. */
  private readonly frozenBodies = new WeakMap<object, CachedBody>();

  constructor(
    private readonly cache: CacheService,
    private readonly reflector: Reflector,
    @Inject(CACHE_MODULE_OPTIONS) private readonly options: CacheModuleOptions,
  ) {}

  intercept(context: ExecutionContext, next: CallHandler): Observable<unknown> {
    const plan = this.planOf(context.getHandler());
    // The HTTP arguments by index: `switchToHttp()` allocates three closures per call.
    const request = context.getArgByIndex<CacheableRequest>(0);
    const reply = context.getArgByIndex<FastifyReply>(1);
    if (plan.read !== undefined) return this.read(plan, plan.read, request, reply, next);
    return next.handle().pipe(
      mergeMap(async (result: unknown) => {
        const { deferWrites } = this.options;
        if (deferWrites === undefined) await this.write(plan, request, result);
        else await deferWrites(() => this.write(plan, request, result));
        return plan.conditional ? this.send(plan, request, reply, this.bodyOf(result)) : result;
      }),
    );
  }

  private read(
    plan: RoutePlan,
    read: ReadPlan,
    request: CacheableRequest,
    reply: FastifyReply,
    next: CallHandler,
  ): Observable<unknown> {
    const key = read.key.build(request);
    if (key === undefined) return next.handle();
    const hit = this.cache.peek<CachedBody>(key, read.peek);
    if (hit !== undefined) return of(this.send(plan, request, reply, hit, 'HIT'));

    let result: unknown;
    const load = async (): Promise<CachedBody> => {
      result = await lastValueFrom(next.handle());
      return toCachedBody(result);
    };
    const options =
      read.tags === undefined ? read.options : { ...read.options, tags: () => read.tags!(result) };
    return from(this.cache.wrap(key, load, options)).pipe(
      map(({ value, status }) =>
        this.send(plan, request, reply, value, STATUS_HEADER_VALUES[status]),
      ),
    );
  }

  /**
   * Headers of a cached representation; an empty 304 when the client has it already.
   * @internal also the cache fast path's answer to a hit
   */
  send(
    plan: RoutePlan,
    request: FastifyRequest,
    reply: FastifyReply,
    cached: CachedBody,
    status?: string,
  ): string {
    void reply.header('content-type', JSON_CONTENT_TYPE).header('etag', cached.etag);
    if (plan.cacheControl !== undefined) void reply.header('cache-control', plan.cacheControl);
    if (status !== undefined) void reply.header(CACHE_STATUS_HEADER, status);
    const ifNoneMatch = request.headers['if-none-match'];
    if (ifNoneMatch !== undefined && etagMatches(ifNoneMatch, cached.etag)) {
      markNotModified(reply);
      return '';
    }
    if (request.headers['accept-encoding'] !== undefined) {
      reuseEncodedForms(reply, encodedFormsOf(cached));
    }
    return cached.body;
  }

  private bodyOf(result: unknown): CachedBody {
    if (typeof result !== 'object' || result === null || !Object.isFrozen(result)) {
      return toCachedBody(result);
    }
    let cached = this.frozenBodies.get(result);
    if (cached === undefined) this.frozenBodies.set(result, (cached = toCachedBody(result)));
    return cached;
  }

  private async write(plan: RoutePlan, request: CacheableRequest, result: unknown): Promise<void> {
    const keysOf = (templates: CompiledCacheKey[]) =>
      templates.map((key) => key.build(request)).filter((key) => key !== undefined);
    const puts = plan.puts.flatMap(({ key, value, ttl }) => {
      const built = key.build(request);
      return built === undefined
        ? []
        : [{ key: built, value: toCachedBody(value ? value(result) : result), ttl }];
    });
    try {
      await Promise.all([
        this.cache.setMany(puts),
        this.cache.evict(keysOf(plan.evictKeys)),
        this.cache.evictTags(keysOf(plan.evictTags)),
      ]);
    } catch (error) {
      this.logger.warn(`cache write after ${request.method} ${request.url} failed: ${error}`);
    }
  }

  /** @internal the plan of a route handler, also read by the cache fast path */
  planOf(handler: object): RoutePlan {
    let plan = this.plans.get(handler);
    if (plan === undefined) {
      plan = this.compile(handler);
      this.plans.set(handler, plan);
    }
    return plan;
  }

  private compile(handler: object): RoutePlan {
    const get = <T>(key: string) => this.reflector.get<T | undefined>(key, handler as never);
    const cached = get<CachedOptions>(CACHED_METADATA);
    const puts = get<CachePutOptions[]>(CACHE_PUT_METADATA) ?? [];
    const evict = get<CacheEvictOptions>(CACHE_EVICT_METADATA);
    const http = get<HttpCacheOptions>(HTTP_CACHE_METADATA);
    const plan: RoutePlan = {
      puts: puts.map(({ key, value, ttl }) => ({ key: compileCacheKey(key), value, ttl })),
      evictKeys: (evict?.keys ?? []).map(compileCacheKey),
      evictTags: (evict?.tags ?? []).map(compileCacheKey),
      cacheControl: http && cacheControlOf(http),
      conditional: http !== undefined,
    };
    if (cached !== undefined) {
      const key = compileCacheKey(cached.key);
      const peek = { cache: key.name, refreshThreshold: cached.refreshThreshold };
      plan.read = {
        key,
        peek,
        options: { ...peek, ttl: cached.ttl },
        tags: cached.tags as ReadPlan['tags'],
      };
    }
    return plan;
  }
}
