import { Injectable, OnModuleInit } from '@nestjs/common';
import { DiscoveryService, MetadataScanner, Reflector } from '@nestjs/core';
import {
  NEST_BLOCK_DURATION_METADATA_PREFIX,
  NEST_KEY_GENERATOR_METADATA_PREFIX,
  NEST_LIMIT_METADATA_PREFIX,
  NEST_TRACKER_METADATA_PREFIX,
  NEST_TTL_METADATA_PREFIX,
} from './throttler.constants';

/** A limit and window a route sets for itself with `@Throttle` of `@nestjs/throttler`. */
export interface RouteThrottle {
  readonly limit: number;
  readonly ttlMs: number;
}

// eslint-disable-next-line @typescript-eslint/no-unsafe-function-type
type Target = Function;

/**
 * The names of `@Throttle({ <name>: … })` on a route or its controller: Nest's decorator
 * writes one metadata entry per name (`THROTTLER:LIMIT<name>`), so the names are found among
 * the metadata keys.
 */
function throttleNames(targets: Target[]): Set<string> {
  const names = new Set<string>();
  for (const target of targets) {
    for (const key of Reflect.getOwnMetadataKeys(target) as unknown[]) {
      if (typeof key === 'string' && key.startsWith(NEST_LIMIT_METADATA_PREFIX)) {
        names.add(key.slice(NEST_LIMIT_METADATA_PREFIX.length));
      }
    }
  }
  return names;
}

function refuse(where: string, name: string, what: string): never {
  throw new Error(
    `@Throttle({ ${name}: { ${what} } }) on ${where} is not supported by loadstar's rate ` +
      `limiter: give limit and ttl as numbers, and pick what a counter is keyed by with ` +
      `@RateLimit('<tier>', { by: [...] }) of @app/throttler (see docs/rate-limiting.md)`,
  );
}

/**
 * Reads `@Throttle` of `@nestjs/throttler` on a route (a method's entry beats its
 * controller's), once per route. Refuses, naming the route, what the
 * limiter cannot honour with its batched counters: a limit or ttl computed per request, and
 * `blockDuration`, `getTracker` and `generateKey`.
 */
export function readRouteThrottles(
  reflector: Reflector,
  handler: Target,
  controller: Target,
): Map<string, RouteThrottle> {
  const throttles = new Map<string, RouteThrottle>();
  const targets = [handler, controller];
  const where = `${controller.name}.${handler.name}`;
  for (const name of throttleNames(targets)) {
    const read = (prefix: string) => reflector.getAllAndOverride<unknown>(prefix + name, targets);
    const limit = read(NEST_LIMIT_METADATA_PREFIX);
    const ttlMs = read(NEST_TTL_METADATA_PREFIX);
    if (!Number.isSafeInteger(limit) || (limit as number) < 1) refuse(where, name, 'limit');
    if (!Number.isSafeInteger(ttlMs) || (ttlMs as number) < 1) refuse(where, name, 'ttl');
    if (read(NEST_BLOCK_DURATION_METADATA_PREFIX) !== undefined) {
      refuse(where, name, 'blockDuration');
    }
    if (read(NEST_TRACKER_METADATA_PREFIX) !== undefined) refuse(where, name, 'getTracker');
    if (read(NEST_KEY_GENERATOR_METADATA_PREFIX) !== undefined) refuse(where, name, 'generateKey');
    throttles.set(name, { limit: limit as number, ttlMs: ttlMs as number });
  }
  return throttles;
}

/**
 * Reads every controller route's `@Throttle` at start, so an option the limiter cannot honour
 * stops the start with the route's name instead of failing that route's first request.
 */
@Injectable()
export class NestThrottleCheck implements OnModuleInit {
  constructor(
    private readonly discovery: DiscoveryService,
    private readonly scanner: MetadataScanner,
    private readonly reflector: Reflector,
  ) {}

  onModuleInit(): void {
    for (const { instance, metatype } of this.discovery.getControllers()) {
      if (!instance || !metatype) continue;
      const prototype = Object.getPrototypeOf(instance) as Record<string, Target>;
      for (const method of this.scanner.getAllMethodNames(prototype)) {
        readRouteThrottles(this.reflector, prototype[method], metatype);
      }
    }
  }
}
