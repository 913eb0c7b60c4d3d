import { Injectable, OnModuleInit, RequestMethod } from '@nestjs/common';
import { METHOD_METADATA, MODULE_PATH, PATH_METADATA } from '@nestjs/common/constants';
import { MetadataScanner, ModulesContainer } from '@nestjs/core';
import { compileCacheKey, placeholdersOf, USER_PLACEHOLDER } from './cache-key';
import { CACHE_EVICT_METADATA, CACHE_PUT_METADATA, CACHED_METADATA } from './cache.constants';
import { CachedOptions, CacheEvictOptions, CacheKeyTemplate, CachePutOptions } from './interfaces';

/** The key templates of a route's cache decorators. */
function templatesOf(handler: object): CacheKeyTemplate[] {
  const cached = Reflect.getMetadata(CACHED_METADATA, handler) as CachedOptions | undefined;
  const puts = (Reflect.getMetadata(CACHE_PUT_METADATA, handler) ?? []) as CachePutOptions[];
  const evict = Reflect.getMetadata(CACHE_EVICT_METADATA, handler) as CacheEvictOptions | undefined;
  return [
    ...(cached ? [cached.key] : []),
    ...puts.map(({ key }) => key),
    ...(evict?.keys ?? []),
    ...(evict?.tags ?? []),
  ];
}

function pathsOf(metadata: unknown): string[] {
  if (metadata === undefined) return [''];
  return Array.isArray(metadata) ? (metadata as string[]) : [metadata as string];
}

function joinPaths(...parts: Array<string | undefined>): string {
  const segments = parts.map((part) => part?.replace(/^\/+|\/+$/g, '')).filter(Boolean);
  return `/${segments.join('/')}`;
}

/** Route parameters (`:id`) of a path, its optional (`:id?`) and constrained ones included. */
function parametersOf(path: string): Set<string> {
  return new Set([...path.matchAll(/:(\w+)/g)].map((match) => match[1]));
}

/**
 * Refuses to start with a cache decorator whose key template the route cannot fill: a
 * placeholder that is not a parameter of the route's path (a key that would never be built,
 * so the route would silently never cache or evict), or a reserved first segment. `{user}`,
 * the authenticated caller, fits any route.
 */
@Injectable()
export class CacheRouteCheck implements OnModuleInit {
  constructor(private readonly modules: ModulesContainer) {}

  onModuleInit(): void {
    const problems: string[] = [];
    for (const { route, path, handler } of this.routes()) {
      const parameters = parametersOf(path);
      for (const template of templatesOf(handler)) {
        problems.push(...this.check(template, parameters, route));
      }
    }
    if (problems.length > 0) {
      throw new Error(`cache decorators that cannot work:\n  ${problems.join('\n  ')}`);
    }
  }

  /** Every route of every controller with a cache decorator, under each of its paths. */
  private *routes(): Generator<{ route: string; path: string; handler: object }> {
    const scanner = new MetadataScanner();
    for (const module of this.modules.values()) {
      const modulePath = (Reflect.getMetadata(
        MODULE_PATH + this.modules.applicationId,
        module.metatype,
      ) ?? Reflect.getMetadata(MODULE_PATH, module.metatype)) as string | undefined;
      for (const { metatype } of module.controllers.values()) {
        if (typeof metatype !== 'function') continue;
        const prototype = metatype.prototype as Record<string, object>;
        for (const name of scanner.getAllMethodNames(prototype)) {
          const handler = prototype[name];
          if (templatesOf(handler).length === 0) continue;
          const method = RequestMethod[Reflect.getMetadata(METHOD_METADATA, handler) as number];
          for (const controllerPath of pathsOf(Reflect.getMetadata(PATH_METADATA, metatype))) {
            for (const handlerPath of pathsOf(Reflect.getMetadata(PATH_METADATA, handler))) {
              const path = joinPaths(modulePath, controllerPath, handlerPath);
              yield { route: `${metatype.name}.${name} (${method} ${path})`, path, handler };
            }
          }
        }
      }
    }
  }

  private check(template: CacheKeyTemplate, parameters: Set<string>, route: string): string[] {
    try {
      compileCacheKey(template);
    } catch (error) {
      return [`${route}: ${(error as Error).message}`];
    }
    return placeholdersOf(template)
      .filter((placeholder) => placeholder !== USER_PLACEHOLDER && !parameters.has(placeholder))
      .map(
        (placeholder) =>
          `${route}: cache key template "${template}" has {${placeholder}}, but the route has no :${placeholder} parameter`,
      );
  }
}
