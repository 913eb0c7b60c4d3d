import { ExecutionContext, Injectable, OnModuleInit } from '@nestjs/common';
import { ModulesContainer } from '@nestjs/core';
import { CacheInterceptor as NestCacheInterceptor } from '@nestjs/cache-manager';

interface RequestCredentials {
  /** Set by an authentication guard. */
  user?: unknown;
  headers?: Readonly<Record<string, unknown>>;
}

/** Nest's `CacheInterceptor.trackBy` (protected): the request's key, `undefined` to not cache. */
interface KeyedInterceptor {
  trackBy(context: ExecutionContext): string | undefined | Promise<string | undefined>;
}

/** The request carries credentials: its response may be the caller's own. */
function carriesCredentials(context: ExecutionContext): boolean {
  if (context.getType() !== 'http') return false;
  const request = context.getArgByIndex<RequestCredentials>(0);
  const headers = request.headers;
  return (
    request.user !== undefined ||
    headers?.authorization !== undefined ||
    headers?.cookie !== undefined
  );
}

/**
 * loadstar's privacy rule for Nest's `CacheInterceptor`, which keys by URL (or `@CacheKey`)
 * alone and would serve one user's response to the next: a request that carries credentials
 * (an authenticated caller, an `Authorization` or `Cookie` header) is neither served from the
 * cache nor stored in it. Nest builds that interceptor from its class wherever
 * `@UseInterceptors(CacheInterceptor)` or `APP_INTERCEPTOR` names it, so the rule is set on
 * each instance once the application is built, before it serves anything.
 */
@Injectable()
export class NestCacheInterceptorPrivacy implements OnModuleInit {
  private readonly guarded = new WeakSet<NestCacheInterceptor>();

  constructor(private readonly modules: ModulesContainer) {}

  onModuleInit(): void {
    for (const module of this.modules.values()) {
      for (const wrappers of [module.injectables.values(), module.providers.values()]) {
        for (const { instance } of wrappers) {
          if (instance instanceof NestCacheInterceptor) this.guard(instance);
        }
      }
    }
  }

  /** Overrides `trackBy` on the instance, as Nest's docs do in a subclass: no key, no caching. */
  private guard(interceptor: NestCacheInterceptor): void {
    if (this.guarded.has(interceptor)) return;
    this.guarded.add(interceptor);
    const keyed = interceptor as unknown as KeyedInterceptor;
    const trackBy = keyed.trackBy.bind(interceptor);
    keyed.trackBy = (context) => (carriesCredentials(context) ? undefined : trackBy(context));
  }
}
