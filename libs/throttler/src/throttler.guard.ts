import {
  CanActivate,
  ExecutionContext,
  Inject,
  Injectable,
  Logger,
  ServiceUnavailableException,
} from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { InjectThrottlerStorage, ThrottlerException } from '@nestjs/throttler';
import { InjectMetric } from '@willsoto/nestjs-prometheus';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Counter } from 'prom-client';
import { clientAddressKey } from './client-address';
import { BODY_SOURCE, bodyKey } from './throttler.keys';
import type { RateLimitKeySource, RateLimitSelection } from './throttler.decorators';
import {
  DEFAULT_KEY_PREFIX,
  DEFAULT_SCOPE,
  DEFAULT_TIER,
  NEST_SKIP_METADATA_PREFIX,
  RATE_LIMIT_REJECTIONS_METRIC,
  RATE_LIMIT_SKIP,
  RATE_LIMIT_STORAGE_FAILURES_METRIC,
  RATE_LIMIT_TIER,
} from './throttler.constants';
import { RATE_LIMIT_MODULE_OPTIONS } from './throttler.module-definition';
import { readRouteThrottles } from './throttler.nest-metadata';
import type { RateLimitStorage, ThrottlerStorageRecord } from './throttler.storage';
import { RateLimitIdentify, RateLimitModuleOptions } from './interfaces';

/** One counter a request hits: a tier and the key source of its counter on this route. */
interface Check {
  readonly tier: string;
  readonly limit: number;
  readonly ttlMs: number;
  /**
   * `<keyPrefix><tier>:`, so a request's key costs one concatenation; a route's own counter
   * (set by `@Throttle`) is `<keyPrefix><tier>@<Controller>.<method>:`.
   */
  readonly keyPrefix: string;
  readonly source: 'client' | 'user' | 'address' | 'body';
  /** The body field of a `body.<field>` source. */
  readonly field: string;
  readonly rejections: Counter.Internal;
}

/** What the guard does on one route, worked out on its first request. */
interface RoutePlan {
  readonly checks: readonly Check[];
  /**
   * Some check's tier is counted in process while the storage fails: each check's failure is
   * then handled alone, so those counters still decide when the others cannot.
   */
  readonly checksFailAlone: boolean;
  /** Some check is keyed by `client` or `user`, which may verify a token: once per request. */
  readonly needsClient: boolean;
}

const UNLIMITED: RoutePlan = { checks: [], checksFailAlone: false, needsClient: false };
/** The record of a check the storage could not count, let through by `failOpen`. */
const UNCOUNTED: ThrottlerStorageRecord = Object.freeze({
  totalHits: 0,
  timeToExpire: 0,
  isBlocked: false,
  timeToBlockExpire: 0,
});
const USER_KEY = 'u:';

/**
 * The global rate-limit guard. `default` applies to every route under the scope, a tier named
 * by `@RateLimit` on top; `@SkipRateLimit` (or Nest's `@SkipThrottle`) removes tiers. Nest's
 * `@Throttle({ <name>: { limit, ttl } })` gives the route a counter of its own under that name,
 * replacing the shared one of the tier of that name (or adding one keyed by `client`).
 *
 * Unlike `@nestjs/throttler`'s own guard, which re-reads five metadata entries per tier and
 * hashes each key with SHA-256 on every request, this one resolves a route's tiers once (on its
 * first request) and then does per request: one map lookup, one key concatenation and one
 * storage call per counter, all calls in flight together.
 */
@Injectable()
export class RateLimitGuard implements CanActivate {
  private readonly logger = new Logger(RateLimitGuard.name);
  // eslint-disable-next-line @typescript-eslint/no-unsafe-function-type
  private readonly plans = new Map<Function, RoutePlan>();
  private readonly identify: RateLimitIdentify | undefined;
  private readonly failOpen: boolean;
  private readonly scope: string;
  private readonly keyPrefix: string;
  private storageFailing = false;
  /** The rejection handlers of every check, made once. */
  private readonly unavailable = (error: unknown): boolean => this.storageUnavailable(error);
  private readonly uncounted = (error: unknown): ThrottlerStorageRecord => {
    this.storageUnavailable(error);
    return UNCOUNTED;
  };

  constructor(
    @Inject(RATE_LIMIT_MODULE_OPTIONS) private readonly options: RateLimitModuleOptions,
    @InjectThrottlerStorage() private readonly storage: RateLimitStorage,
    private readonly reflector: Reflector,
    @InjectMetric(RATE_LIMIT_REJECTIONS_METRIC) private readonly rejections: Counter<'tier'>,
    @InjectMetric(RATE_LIMIT_STORAGE_FAILURES_METRIC) private readonly storageFailures: Counter,
  ) {
    this.identify = options.identify;
    this.failOpen = options.failOpen;
    this.scope = options.scope ?? DEFAULT_SCOPE;
    this.keyPrefix = options.keyPrefix ?? DEFAULT_KEY_PREFIX;
  }

  canActivate(context: ExecutionContext): boolean | Promise<boolean> {
    // The HTTP arguments by index: `switchToHttp()` allocates three closures per call.
    const request = context.getArgByIndex<FastifyRequest>(0);
    const plan = this.plans.get(context.getHandler()) ?? this.planRoute(context, request);
    const { checks } = plan;
    if (checks.length === 0) return true;

    const client = plan.needsClient ? this.clientKey(request) : '';
    const reply = context.getArgByIndex<FastifyReply>(1);
    // Most routes have one counter: answered at once when the storage has its count at hand
    // (process memory, a lease), else one `then` on its hit, without a `Promise.all`.
    if (checks.length === 1) {
      const counted = this.count(checks[0], request, client);
      if (!(counted instanceof Promise)) return this.conclude(checks, [counted], reply, false);
      return counted.then(
        (record) => this.conclude(checks, [record], reply, true),
        this.unavailable,
      );
    }
    const counted = checks.map((check) => this.count(check, request, client));
    if (!counted.some((count) => count instanceof Promise)) {
      return this.conclude(checks, counted as (ThrottlerStorageRecord | undefined)[], reply, false);
    }
    if (plan.checksFailAlone) {
      return Promise.all(
        counted.map((count) => (count instanceof Promise ? count.catch(this.uncounted) : count)),
      ).then((records) => this.conclude(checks, records, reply, true));
    }
    return Promise.all(counted).then(
      (records) => this.conclude(checks, records, reply, true),
      this.unavailable,
    );
  }

  /**
   * One hit on `check`'s counter: its count when the storage has it at once, else the promise
   * of it; `undefined` when the request has no key for it (no signed-in user, no body field).
   */
  private count(
    check: Check,
    request: FastifyRequest,
    client: string,
  ): ThrottlerStorageRecord | undefined | Promise<ThrottlerStorageRecord> {
    let key: string;
    if (check.source === 'client') {
      key = client;
    } else if (check.source === 'user') {
      if (!client.startsWith(USER_KEY)) return undefined;
      key = client;
    } else if (check.source === 'address') {
      key = `a:${clientAddressKey(request.ip)}`;
    } else {
      const normalised = bodyKey(request.body, check.field);
      if (normalised === undefined) return undefined;
      key = normalised;
    }
    key = check.keyPrefix + key;
    return (
      this.storage.incrementNow(key, check.ttlMs, check.limit, check.tier) ??
      this.storage.increment(key, check.ttlMs, check.limit, 0, check.tier)
    );
  }

  /** `u:<user id>` for an authenticated caller, `a:<address>` otherwise. */
  private clientKey(request: FastifyRequest): string {
    const user = this.identify?.(request);
    return user === undefined ? `a:${clientAddressKey(request.ip)}` : USER_KEY + user;
  }

  /**
   * Sends the headers of the counter closest to its limit and, when any counter is over its
   * limit, refuses with `429` and `Retry-After` (the longest wait among them). `asked` says
   * the storage answered a call for them: only that ends an outage (counts at hand do not).
   */
  private conclude(
    checks: readonly Check[],
    records: readonly (ThrottlerStorageRecord | undefined)[],
    reply: FastifyReply,
    asked: boolean,
  ): true {
    let tightest = -1;
    let tightestRemaining = Infinity;
    let retryAfter = 0;
    let rejectedTier: string | undefined;
    let allCounted = true;
    for (let index = 0; index < checks.length; index++) {
      const record = records[index];
      if (record === undefined) continue;
      if (record === UNCOUNTED) {
        allCounted = false;
        continue;
      }
      const check = checks[index];
      const remaining = check.limit - record.totalHits;
      if (remaining < tightestRemaining) {
        tightest = index;
        tightestRemaining = remaining;
      }
      if (record.isBlocked) {
        retryAfter = Math.max(retryAfter, record.timeToExpire);
        // one rejection per tier, even when several of its counters are over
        if (rejectedTier !== check.tier) check.rejections.inc();
        rejectedTier = check.tier;
      }
    }
    if (this.storageFailing && asked && allCounted) this.storageRecovered();
    if (tightest === -1) return true;
    reply.header('ratelimit-limit', checks[tightest].limit);
    reply.header('ratelimit-remaining', Math.max(0, tightestRemaining));
    reply.header('ratelimit-reset', records[tightest]!.timeToExpire);
    if (retryAfter > 0) {
      reply.header('retry-after', retryAfter);
      throw new ThrottlerException(`Too many requests; retry in ${retryAfter} s`);
    }
    return true;
  }

  private storageUnavailable(error: unknown): boolean {
    this.storageFailures.inc();
    if (!this.storageFailing) {
      this.storageFailing = true;
      const message = error instanceof Error ? error.message : String(error);
      this.logger.warn(
        `rate-limit storage unavailable (${message}): ` +
          (this.failOpen ? 'letting requests through unlimited' : 'answering 503'),
      );
    }
    if (this.failOpen) return true;
    throw new ServiceUnavailableException('Rate limiting is unavailable; retry shortly');
  }

  private storageRecovered(): void {
    this.storageFailing = false;
    this.logger.log('rate-limit storage available again: limiting resumed');
  }

  private planRoute(context: ExecutionContext, request: FastifyRequest): RoutePlan {
    const plan = this.buildPlan(context, request.routeOptions.url);
    this.plans.set(context.getHandler(), plan);
    return plan;
  }

  private buildPlan(context: ExecutionContext, route: string | undefined): RoutePlan {
    if (this.options.enabled === false) return UNLIMITED;
    if (route === undefined || !(route === this.scope || route.startsWith(`${this.scope}/`))) {
      return UNLIMITED;
    }
    const handler = context.getHandler();
    const controller = context.getClass();
    const targets = [handler, controller];
    const skip = this.reflector.getAllAndOverride<true | string[] | undefined>(
      RATE_LIMIT_SKIP,
      targets,
    );
    if (skip === true) return UNLIMITED;
    const selection = this.reflector.getAllAndOverride<RateLimitSelection | undefined>(
      RATE_LIMIT_TIER,
      targets,
    );
    const joined: RateLimitSelection[] = [];
    if (selection?.tier !== DEFAULT_TIER) joined.push({ tier: DEFAULT_TIER, by: ['client'] });
    if (selection) joined.push(selection);

    const throttles = readRouteThrottles(this.reflector, handler, controller);
    const routeKey = `@${controller.name}.${handler.name}`;
    for (const name of throttles.keys()) {
      if (!joined.some(({ tier }) => tier === name)) joined.push({ tier: name, by: ['client'] });
    }

    const checks: Check[] = [];
    for (const { tier, by } of joined) {
      const skipped =
        skip?.includes(tier) ||
        this.reflector.getAllAndOverride<boolean | undefined>(
          NEST_SKIP_METADATA_PREFIX + tier,
          targets,
        );
      if (skipped) continue;
      const own = throttles.get(tier);
      const policy = own ?? this.options.tiers[tier];
      if (policy === undefined) {
        throw new Error(`@RateLimit('${tier}') names a tier that is not configured`);
      }
      const counter = own ? tier + routeKey : tier;
      for (const source of by) {
        checks.push(this.check(tier, counter, policy.limit, policy.ttlMs, source));
      }
    }
    const localTiers = this.options.localFallbackTiers ?? [];
    return {
      checks,
      checksFailAlone: checks.some((check) => localTiers.includes(check.tier)),
      needsClient: checks.some((check) => check.source === 'client' || check.source === 'user'),
    };
  }

  private check(
    tier: string,
    counter: string,
    limit: number,
    ttlMs: number,
    source: RateLimitKeySource,
  ): Check {
    const body = source.startsWith(BODY_SOURCE);
    return {
      tier,
      limit,
      ttlMs,
      keyPrefix: `${this.keyPrefix}${counter}:`,
      source: body ? 'body' : (source as 'client' | 'user' | 'address'),
      field: body ? source.slice(BODY_SOURCE.length) : '',
      rejections: this.rejections.labels(tier),
    };
  }
}
