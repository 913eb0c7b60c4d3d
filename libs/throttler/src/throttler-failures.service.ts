import { Inject, Injectable, Logger, ServiceUnavailableException } from '@nestjs/common';
import { InjectThrottlerStorage, ThrottlerException, ThrottlerStorage } from '@nestjs/throttler';
import { InjectMetric } from '@willsoto/nestjs-prometheus';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Counter } from 'prom-client';
import { clientAddressKey } from './client-address';
import type { RateLimitFailuresOptions } from './throttler.decorators';
import {
  DEFAULT_KEY_PREFIX,
  DEFAULT_SLOWDOWN_MAX_DELAY_MS,
  FIRST_SLOWDOWN_DELAY_MS,
  RATE_LIMIT_REJECTIONS_METRIC,
  RATE_LIMIT_STORAGE_FAILURES_METRIC,
} from './throttler.constants';
import { BODY_SOURCE, bodyKey } from './throttler.keys';
import { RATE_LIMIT_MODULE_OPTIONS } from './throttler.module-definition';
import type { RateLimitStorage, ThrottlerStorageRecord } from './throttler.storage';
import { RateLimitModuleOptions } from './interfaces';

/** One failure counter of a route: its tier and where its keys start. */
interface FailureTier {
  readonly name: string;
  readonly limit: number;
  readonly ttlMs: number;
  /** `<keyPrefix><tier>:` */
  readonly keyPrefix: string;
  readonly rejections: Counter.Internal;
}

/** What {@link RateLimitFailuresService} does on one route, worked out once. */
export interface FailurePlan {
  readonly field: string;
  readonly byAddress: FailureTier;
  readonly byAddressAndSubject: FailureTier;
  readonly bySubject: FailureTier;
  readonly failureStatus: number;
}

/** A counted hit that may be taken back. */
interface Hit {
  readonly key: string;
  readonly tier: FailureTier;
}

/**
 * The failures one attempt reserved, before its outcome is known: the address counter, and
 * when the request names an account the (address, account) and account counters.
 */
export interface FailureReservation {
  readonly hits: readonly Hit[];
  /** The (address, account) hit, reset by a success. */
  readonly pair: Hit | undefined;
}

/** A slowed-down account's delay window admits one attempt. */
const ATTEMPTS_PER_DELAY = 1;

/**
 * Failure counting for {@link RateLimitFailures} routes (see there). Every counter is hit before
 * the attempt and taken back afterwards unless the attempt failed, so limits are exact however
 * many attempts run at once: in process and, with Redis, across processes (the hits, refunds
 * and resets of one event-loop turn share the storage's one script call).
 */
@Injectable()
export class RateLimitFailuresService {
  private readonly logger = new Logger(RateLimitFailuresService.name);
  private readonly storage: RateLimitStorage;
  private readonly keyPrefix: string;
  private readonly maxDelayMs: number;

  constructor(
    @Inject(RATE_LIMIT_MODULE_OPTIONS) private readonly options: RateLimitModuleOptions,
    @InjectThrottlerStorage() storage: ThrottlerStorage,
    @InjectMetric(RATE_LIMIT_REJECTIONS_METRIC) private readonly rejections: Counter<'tier'>,
    @InjectMetric(RATE_LIMIT_STORAGE_FAILURES_METRIC) private readonly storageFailures: Counter,
  ) {
    // the module provides loadstar's own storages, which can take hits back
    this.storage = storage as RateLimitStorage;
    this.keyPrefix = options.keyPrefix ?? DEFAULT_KEY_PREFIX;
    this.maxDelayMs = options.slowdownMaxDelayMs ?? DEFAULT_SLOWDOWN_MAX_DELAY_MS;
  }

  /** `undefined` when limiting is switched off; throws on a tier that is not configured. */
  plan(options: RateLimitFailuresOptions): FailurePlan | undefined {
    if (this.options.enabled === false) return undefined;
    return {
      field: options.subject.slice(BODY_SOURCE.length),
      byAddress: this.tier(options.byAddress),
      byAddressAndSubject: this.tier(options.byAddressAndSubject),
      bySubject: this.tier(options.bySubject),
      failureStatus: options.failureStatus ?? 401,
    };
  }

  /**
   * Counts the attempt as a failure on each counter, before it is made. Refuses it with `429`
   * and `Retry-After` (taking every hit back) when the address or the (address, account)
   * counter is over its limit, or when the account is past its limit and its delay since the
   * last admitted attempt has not run out.
   *
   * @throws ThrottlerException (429) when refused
   * @throws ServiceUnavailableException (503) when the storage cannot count
   */
  async reserve(
    plan: FailurePlan,
    request: FastifyRequest,
    reply: FastifyReply,
  ): Promise<FailureReservation> {
    const address = `a:${clientAddressKey(request.ip)}`;
    const subject = bodyKey(request.body, plan.field);
    const hits: Hit[] = [{ key: plan.byAddress.keyPrefix + address, tier: plan.byAddress }];
    let pair: Hit | undefined;
    if (subject !== undefined) {
      pair = {
        key: `${plan.byAddressAndSubject.keyPrefix}${address}|${subject}`,
        tier: plan.byAddressAndSubject,
      };
      hits.push(pair, { key: plan.bySubject.keyPrefix + subject, tier: plan.bySubject });
    }
    const records = await this.counted(
      Promise.all(
        hits.map(({ key, tier }) =>
          this.storage.increment(key, tier.ttlMs, tier.limit, 0, tier.name),
        ),
      ),
    );
    let retryAfter = 0;
    // the address and (address, account) counters refuse; the account counter slows down
    for (let index = 0; index < 2 && index < hits.length; index++) {
      if (records[index].isBlocked) {
        retryAfter = Math.max(retryAfter, records[index].timeToExpire);
        hits[index].tier.rejections.inc();
      }
    }
    if (retryAfter === 0 && subject !== undefined) {
      retryAfter = await this.slowdown(plan.bySubject, subject, records[2]);
    }
    if (retryAfter > 0) {
      await this.takeBack(hits);
      reply.header('retry-after', retryAfter);
      throw new ThrottlerException(`Too many failed attempts; retry in ${retryAfter} s`);
    }
    return { hits, pair };
  }

  /** The attempt succeeded: its (address, account) counter starts again, the rest is taken back. */
  async succeeded({ hits, pair }: FailureReservation): Promise<void> {
    await Promise.all(
      hits.map((hit) =>
        hit === pair
          ? this.storage.reset(hit.key, hit.tier.name)
          : this.storage.refund(hit.key, hit.tier.name),
      ),
    );
  }

  /** The attempt ended without checking the credentials (e.g. a 400): nothing is counted. */
  cancelled({ hits }: FailureReservation): Promise<void> {
    return this.takeBack(hits);
  }

  /**
   * Past the account's limit, one attempt per delay: the delay's window is a counter of its own
   * with a limit of one, so concurrent attempts from any number of processes admit exactly one.
   * @returns the seconds to wait, or 0 when the attempt may go ahead
   */
  private async slowdown(
    tier: FailureTier,
    subject: string,
    record: ThrottlerStorageRecord,
  ): Promise<number> {
    const over = record.totalHits - tier.limit;
    if (over <= 0) return 0;
    const delayMs = Math.min(FIRST_SLOWDOWN_DELAY_MS * 2 ** (over - 1), this.maxDelayMs);
    const gate = await this.counted(
      this.storage.increment(
        `${tier.keyPrefix}gate:${subject}`,
        delayMs,
        ATTEMPTS_PER_DELAY,
        0,
        tier.name,
      ),
    );
    if (!gate.isBlocked) return 0;
    tier.rejections.inc();
    return gate.timeToExpire;
  }

  /** The storage's answer, or a 503 when it cannot count (these routes never fail open). */
  private async counted<T>(counting: Promise<T>): Promise<T> {
    try {
      return await counting;
    } catch (error) {
      this.storageFailures.inc();
      const message = error instanceof Error ? error.message : String(error);
      this.logger.warn(`failed-attempt counters unavailable (${message}): answering 503`);
      throw new ServiceUnavailableException('Rate limiting is unavailable; retry shortly');
    }
  }

  private async takeBack(hits: readonly Hit[]): Promise<void> {
    await Promise.all(hits.map((hit) => this.storage.refund(hit.key, hit.tier.name)));
  }

  private tier(name: string): FailureTier {
    const policy = this.options.tiers[name];
    if (policy === undefined) {
      throw new Error(`@RateLimitFailures() names tier '${name}', which is not configured`);
    }
    return {
      name,
      limit: policy.limit,
      ttlMs: policy.ttlMs,
      keyPrefix: `${this.keyPrefix}${name}:`,
      rejections: this.rejections.labels(name),
    };
  }
}
