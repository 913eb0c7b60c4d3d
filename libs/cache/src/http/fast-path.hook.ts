import {
  CanActivate,
  ExceptionFilter,
  ForbiddenException,
  Inject,
  Injectable,
  OnApplicationBootstrap,
} from '@nestjs/common';
import {
  EXCEPTION_FILTERS_METADATA,
  FILTER_CATCH_EXCEPTIONS,
  GUARDS_METADATA,
  HEADERS_METADATA,
  HTTP_CODE_METADATA,
  INTERCEPTORS_METADATA,
  REDIRECT_METADATA,
} from '@nestjs/common/constants';
import { ApplicationConfig, HttpAdapterHost, ModuleRef, Reflector } from '@nestjs/core';
import { ExecutionContextHost } from '@nestjs/core/helpers/execution-context-host';
import type {
  FastifyInstance,
  FastifyReply,
  FastifyRequest,
  HookHandlerDoneFunction,
} from 'fastify';
import { isObservable, lastValueFrom } from 'rxjs';
import { placeholdersOf, USER_PLACEHOLDER } from '../cache-key';
import { CACHED_ROUTE_CONFIG } from '../cache.constants';
import { CacheInterceptor, RoutePlan } from '../cache.interceptor';
import { CACHE_MODULE_OPTIONS } from '../cache.module-definition';
import { CacheService } from '../cache.service';
import { CacheModuleOptions } from '../interfaces';
import type { CachedBody } from './cached-body';

/** A `@Cached()` route as its Fastify route config names it (see `ExposeCachedRoute`). */
export interface CachedRoute {
  // eslint-disable-next-line @typescript-eslint/no-unsafe-function-type
  controller: Function;
  handler: object;
}

/** What the fast path does on one route, worked out on its first request. */
interface FastRoute {
  plan: RoutePlan & Required<Pick<RoutePlan, 'read'>>;
  route: CachedRoute;
}

const FORBIDDEN_MESSAGE = 'Forbidden resource';
const NOT_FAST = null;

/**
 * Serves cache hits of `@Cached()` routes from a Fastify `preHandler` hook, ahead of Nest's
 * router, with what Nest's pipeline would do for a hit and nothing else: the app's global
 * guards (the rate limiter: tiers, headers, 429) with the route's own execution context, then
 * the cache interceptor's answer (`ETag`, `Cache-Control`, `X-Cache`, 304). Fastify's hooks
 * run either way, so request ids, security headers, the access log, metrics, compression and
 * the 304 rewrite are those of every other response.
 *
 * A route qualifies only if nothing else would run for a hit: no guards, filters, extra
 * interceptors, `@Header`, `@HttpCode` or `@Redirect` of its own, no `{user}` in its key (it
 * needs authentication), no global interceptor. A miss, an unqualified route, a HEAD and every
 * other method go on to Nest untouched; nothing is counted before the guards passed, so the
 * request is limited and counted exactly once either way. test/cache/cache-fast-path.e2e-spec
 * runs every cached route both ways and compares the answers.
 *
 * @internal installed by {@link CacheModule} unless `fastPath` is `false`
 */
@Injectable()
export class CacheFastPath implements OnApplicationBootstrap {
  private readonly routes = new WeakMap<CachedRoute, FastRoute | null>();
  private readonly interceptor: CacheInterceptor;
  private config?: ApplicationConfig;

  constructor(
    private readonly cache: CacheService,
    private readonly adapterHost: HttpAdapterHost,
    private readonly moduleRef: ModuleRef,
    reflector: Reflector,
    @Inject(CACHE_MODULE_OPTIONS) private readonly options: CacheModuleOptions,
  ) {
    this.interceptor = new CacheInterceptor(cache, reflector, options);
  }

  /** After every `onModuleInit`, so the other `preHandler` hooks (the log context) run first. */
  onApplicationBootstrap(): void {
    const fastify = this.adapterHost.httpAdapter?.getInstance<FastifyInstance>();
    if (this.options.fastPath === false || typeof fastify?.addHook !== 'function') return;
    // The guards, filters and interceptors Nest's router applies globally, read from the same
    // place it reads them (Nest has no provider for it: it sits on the container).
    this.config = (
      this.moduleRef as unknown as { container: { applicationConfig: ApplicationConfig } }
    ).container.applicationConfig;
    fastify.addHook('preHandler', (request, reply, done) => this.serve(request, reply, done));
  }

  private serve(request: FastifyRequest, reply: FastifyReply, done: HookHandlerDoneFunction): void {
    const route = (request.routeOptions.config as { [CACHED_ROUTE_CONFIG]?: CachedRoute })[
      CACHED_ROUTE_CONFIG
    ];
    if (route === undefined || request.method !== 'GET') return done();
    let fast = this.routes.get(route);
    if (fast === undefined) this.routes.set(route, (fast = this.qualify(route)));
    if (fast === NOT_FAST) return done();
    const { read } = fast.plan;
    const key = read.key.build(request as FastifyRequest & { params: Record<string, string> });
    if (key === undefined) return done();
    const hit = this.cache.lookup<CachedBody>(key, read.peek);
    if (hit === undefined) return done();
    const context = new ExecutionContextHost(
      [request, reply, undefined],
      fast.route.controller as never,
      fast.route.handler as never,
    );
    try {
      const passed = this.passGuards(context);
      if (passed === true) return this.answer(fast, key, request, reply, hit);
      passed
        .then(() => this.answer(fast, key, request, reply, hit))
        .catch((error: unknown) => this.fail(error, context));
    } catch (error) {
      this.fail(error, context);
    }
  }

  private answer(
    fast: FastRoute,
    key: string,
    request: FastifyRequest,
    reply: FastifyReply,
    hit: CachedBody,
  ): void {
    this.cache.countHit(key, fast.plan.read.peek);
    void reply.send(this.interceptor.send(fast.plan, request, reply, hit, 'HIT'));
  }

  /**
   * As Nest's `GuardsConsumer`: in order, each awaited; `false` is a 403. Answers at once while
   * every guard does (the limiter with its count at hand), so a hit then takes no promise.
   */
  private passGuards(context: ExecutionContextHost, from = 0): true | Promise<true> {
    const guards = this.config!.getGlobalGuards() as CanActivate[];
    for (let index = from; index < guards.length; index++) {
      const allowed = guards[index].canActivate(context);
      if (allowed === true) continue;
      if (allowed === false) throw new ForbiddenException(FORBIDDEN_MESSAGE);
      return Promise.resolve(isObservable(allowed) ? lastValueFrom(allowed) : allowed).then(
        (granted) => {
          if (!granted) throw new ForbiddenException(FORBIDDEN_MESSAGE);
          return this.passGuards(context, index + 1);
        },
      );
    }
    return true;
  }

  /**
   * As Nest's exceptions handler: the first global filter that catches the error answers (a
   * route qualifies only when one catches everything).
   */
  private fail(error: unknown, context: ExecutionContextHost): void {
    this.filterFor(error)!.catch(error, context);
  }

  private filterFor(error: unknown): ExceptionFilter | undefined {
    const filters = [...this.config!.getGlobalFilters()].reverse() as ExceptionFilter[];
    return filters.find((candidate) => {
      const types = (Reflect.getMetadata(FILTER_CATCH_EXCEPTIONS, candidate.constructor) ??
        []) as (new (...args: never[]) => unknown)[];
      return types.length === 0 || types.some((type) => error instanceof type);
    });
  }

  private qualify(route: CachedRoute): FastRoute | null {
    const config = this.config!;
    const plan = this.interceptor.planOf(route.handler);
    if (plan.read === undefined) return NOT_FAST;
    if (placeholdersOf(plan.read.key.template).includes(USER_PLACEHOLDER)) return NOT_FAST;
    if (
      config.getGlobalInterceptors().length > 0 ||
      config.getGlobalRequestInterceptors().length > 0
    )
      return NOT_FAST;
    if (config.getGlobalRequestGuards().length > 0 || config.getGlobalRequestFilters().length > 0)
      return NOT_FAST;
    // an error nothing catches would need Nest's own fallback handler
    if (this.filterFor(Symbol('anything')) === undefined) return NOT_FAST;
    const own = (key: string, target: object) => Reflect.getMetadata(key, target) as unknown;
    const targets = [route.handler, route.controller];
    for (const key of [GUARDS_METADATA, EXCEPTION_FILTERS_METADATA]) {
      if (
        targets.some((target) => ((own(key, target) as unknown[] | undefined) ?? []).length > 0)
      ) {
        return NOT_FAST;
      }
    }
    const interceptors = [
      ...((own(INTERCEPTORS_METADATA, route.controller) as unknown[] | undefined) ?? []),
      ...((own(INTERCEPTORS_METADATA, route.handler) as unknown[] | undefined) ?? []),
    ];
    if (interceptors.length !== 1 || interceptors[0] !== CacheInterceptor) return NOT_FAST;
    for (const key of [HEADERS_METADATA, HTTP_CODE_METADATA, REDIRECT_METADATA]) {
      if (own(key, route.handler) !== undefined) return NOT_FAST;
    }
    return { plan: plan as FastRoute['plan'], route };
  }
}
