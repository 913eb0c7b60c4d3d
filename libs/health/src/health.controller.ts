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
  MemoryHealthIndicator,
} from '@nestjs/terminus';
import { getHeapStatistics } from 'node:v8';
import {
  CHECK,
  DEFAULT_LIVE_MAX_EVENT_LOOP_DELAY_MS,
  DEFAULT_MAX_HEAP_USED_RATIO,
  DEFAULT_READY_MAX_EVENT_LOOP_DELAY_MS,
} from './health.constants';
import { describeFailures, HealthCheckFailedFilter } from './health.filter';
import { HEALTH_MODULE_OPTIONS } from './health.module-definition';
import {
  DatabaseHealthIndicator,
  DatabasePoolsHealthIndicator,
  EventLoopHealthIndicator,
  RedisHealthIndicator,
} from './indicators';
import { HealthModuleOptions } from './interfaces';
import { ReadinessState } from './readiness.state';

/**
 * `GET /health/live` and `GET /health/ready` (contract §3), outside `/api`: never cached, never
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
  private wasReady = true;

  constructor(
    @Inject(HEALTH_MODULE_OPTIONS) options: HealthModuleOptions,
    private readonly health: HealthCheckService,
    private readonly memory: MemoryHealthIndicator,
    private readonly eventLoop: EventLoopHealthIndicator,
    private readonly database: DatabaseHealthIndicator,
    private readonly pools: DatabasePoolsHealthIndicator,
    private readonly redis: RedisHealthIndicator,
    private readonly readiness: ReadinessState,
  ) {
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
   * The process should get traffic: database (and Redis, when configured) answer a ping and
   * the event loop keeps up; 503 from the moment shutdown begins. `databasePools` reports the
   * use of each pool (never down).
   */
  @Get('ready')
  @HealthCheck()
  async ready(): Promise<HealthCheckResult> {
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
    if (this.redis.enabled) checks.push(() => this.redis.check());
    try {
      const result = await this.health.check(checks);
      this.noteReadiness(true);
      return result;
    } catch (error) {
      const result = (error as ServiceUnavailableException).getResponse?.() as HealthCheckResult;
      this.noteReadiness(false, result?.details);
      throw error;
    }
  }

  /** One line per change, not one per probe. */
  private noteReadiness(ready: boolean, details?: HealthCheckResult['details']): void {
    if (ready === this.wasReady) return;
    this.wasReady = ready;
    if (ready) this.logger.log('ready again');
    else this.logger.warn(`not ready: ${details ? describeFailures(details) : 'unknown'}`);
  }
}
