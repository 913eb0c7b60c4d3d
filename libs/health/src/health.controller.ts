import {
  Controller,
  Get,
  Inject,
  Logger,
  ServiceUnavailableException,
  UseFilters,
} from '@nestjs/common';
import { ApiTags } from '@nestjs/swagger';
import {
  HealthCheck,
  HealthCheckResult,
  HealthCheckService,
  HealthIndicatorFunction,
  HealthIndicatorResult,
  MemoryHealthIndicator,
} from '@nestjs/terminus';
import { getHeapStatistics } from 'node:v8';
import {
  CHECK,
  DEFAULT_LIVE_MAX_EVENT_LOOP_DELAY_MS,
  DEFAULT_MAX_HEAP_USED_RATIO,
  DEFAULT_READY_MAX_EVENT_LOOP_DELAY_MS,
} from './health.constants';
import { redactDetails } from './health.details';
import { describeFailures, HealthCheckFailedFilter } from './health.filter';
import { HEALTH_MODULE_OPTIONS } from './health.module-definition';
import {
  DatabaseHealthIndicator,
  DatabasePoolsHealthIndicator,
  DatabaseReplicasHealthIndicator,
  EventLoopHealthIndicator,
  RedisHealthIndicator,
} from './indicators';
import { HealthModuleOptions } from './interfaces';
import { ReadinessState } from './readiness.state';

/** A readiness answer: Terminus' result and the optional parts that are down. */
export interface ReadinessResult extends HealthCheckResult {
  /** Parts that are down while the app still serves, e.g. `['redis']`; empty when none. */
  degraded: string[];
}

type ReadinessLogState = 'ready' | 'degraded' | 'not ready';

/**
 * `GET /health/live` and `GET /health/ready` (docs/api.md, operations routes), outside `/api`: never cached, never
 * rate limited, logged at debug only. A failed check is a 503 naming the failing part.
 */
@ApiTags('operations')
@Controller('health')
@UseFilters(HealthCheckFailedFilter)
export class HealthController {
  private readonly logger = new Logger(HealthController.name);
  private readonly liveMaxDelayMs: number;
  private readonly readyMaxDelayMs: number;
  private readonly maxHeapUsedBytes: number;
  private readonly redisRequired: boolean;
  private readonly detailedErrors: boolean;
  private lastState: ReadinessLogState = 'ready';

  constructor(
    @Inject(HEALTH_MODULE_OPTIONS) options: HealthModuleOptions,
    private readonly health: HealthCheckService,
    private readonly memory: MemoryHealthIndicator,
    private readonly eventLoop: EventLoopHealthIndicator,
    private readonly database: DatabaseHealthIndicator,
    private readonly pools: DatabasePoolsHealthIndicator,
    private readonly replicas: DatabaseReplicasHealthIndicator,
    private readonly redis: RedisHealthIndicator,
    private readonly readiness: ReadinessState,
  ) {
    this.redisRequired = options.redisRequired ?? false;
    this.detailedErrors = options.detailedErrors ?? true;
    this.liveMaxDelayMs = options.liveMaxEventLoopDelayMs ?? DEFAULT_LIVE_MAX_EVENT_LOOP_DELAY_MS;
    this.readyMaxDelayMs =
      options.readyMaxEventLoopDelayMs ?? DEFAULT_READY_MAX_EVENT_LOOP_DELAY_MS;
    this.maxHeapUsedBytes =
      (options.maxHeapUsedRatio ?? DEFAULT_MAX_HEAP_USED_RATIO) *
      getHeapStatistics().heap_size_limit;
  }

  /** The process can serve: event loop and heap within limits. No dependency is checked. */
  @Get('live')
  @HealthCheck()
  live(): Promise<HealthCheckResult> {
    return this.health.check([
      () => this.eventLoop.check(this.liveMaxDelayMs),
      () => this.memory.checkHeap(CHECK.heap, this.maxHeapUsedBytes),
    ]);
  }

  /**
   * The process should get traffic: the database answers a ping and the event loop keeps up;
   * 503 from the moment shutdown begins. Redis (when configured) is pinged too: while it is
   * down the answer is 503 only if Redis is required, otherwise 200 with `degraded: ['redis']`,
   * since the app serves without it (cache from memory and the database, limiter failing open).
   * `databasePools` reports the use of each pool, `databaseReplicas` (with
   * `DATABASE_REPLICA_URLS`) each replica's state and lag; neither is ever down.
   */
  @Get('ready')
  @HealthCheck()
  async ready(): Promise<ReadinessResult> {
    if (this.readiness.isShuttingDown) {
      throw new ServiceUnavailableException({
        status: 'shutting_down',
        details: { [CHECK.shutdown]: { status: 'down', message: 'shutting down' } },
      } satisfies HealthCheckResult);
    }
    const checks: HealthIndicatorFunction[] = [
      () => this.database.check(),
      () => this.pools.check(),
      () => this.eventLoop.check(this.readyMaxDelayMs),
    ];
    if (this.replicas.enabled) checks.push(() => this.replicas.check());
    const redisRequired = this.redis.enabled && this.redisRequired;
    if (redisRequired) checks.push(() => this.redis.check());
    // run beside the required checks, so an optional Redis adds no latency to the probe
    const optional = this.redis.enabled && !redisRequired ? this.redis.check() : undefined;
    try {
      const result = await this.health.check(checks);
      const optionalDetails: HealthIndicatorResult = (await optional) ?? {};
      const degraded = Object.entries(optionalDetails)
        .filter(([, detail]) => detail.status !== 'up')
        .map(([part]) => part);
      const details = { ...result.details, ...optionalDetails };
      this.noteReadiness(degraded.length > 0 ? 'degraded' : 'ready', details);
      return { ...this.publicResult({ ...result, details }), degraded };
    } catch (error) {
      const result = (error as ServiceUnavailableException).getResponse?.() as HealthCheckResult;
      if (result?.details) {
        // the 503's body (HealthCheckFailedFilter) shows the optional parts too
        Object.assign(result.details, (await optional) ?? {});
        this.noteReadiness('not ready', result.details);
        Object.assign(result, this.publicResult(result));
      }
      throw error;
    }
  }

  /** Terminus' `error` and `details`, with driver messages redacted unless allowed. */
  private publicResult(result: HealthCheckResult): HealthCheckResult {
    return {
      ...result,
      error: result.error && this.publicDetails(result.error),
      details: this.publicDetails(result.details),
    };
  }

  private publicDetails<T extends Partial<HealthIndicatorResult>>(details: T): T {
    return this.detailedErrors ? details : redactDetails(details);
  }

  /** One line per change, not one per probe. */
  private noteReadiness(state: ReadinessLogState, details?: HealthCheckResult['details']): void {
    if (state === this.lastState) return;
    this.lastState = state;
    const failures = details ? describeFailures(details) : 'unknown';
    if (state === 'ready') this.logger.log('ready again');
    else if (state === 'degraded') this.logger.warn(`ready, serving without ${failures}`);
    else this.logger.warn(`not ready: ${failures}`);
  }
}
