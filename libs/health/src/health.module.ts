import { DynamicModule, Module } from '@nestjs/common';
import { TerminusModule } from '@nestjs/terminus';
import { HealthController } from './health.controller';
import {
  HEALTH_ASYNC_OPTIONS_TYPE,
  HEALTH_MODULE_OPTIONS,
  HEALTH_OPTIONS_TYPE,
  HealthOptionsModule,
} from './health.module-definition';
import {
  DatabaseHealthIndicator,
  DatabasePoolsHealthIndicator,
  DatabaseReplicasHealthIndicator,
  EventLoopHealthIndicator,
  RedisHealthIndicator,
} from './indicators';
import { ReadinessState } from './readiness.state';

/**
 * Liveness and readiness with `@nestjs/terminus` at `/health/live` and `/health/ready`
 * (docs/observability.md). Needs `DatabaseModule` (the primary is pinged over a dedicated connection)
 * and exports {@link ReadinessState} for the shutdown sequence.
 *
 * @example
 * HealthModule.forRoot({ redisConnection: { url: 'redis://127.0.0.1:6379' }, redisRequired: false })
 */
@Module({})
export class HealthModule {
  static forRoot(options: typeof HEALTH_OPTIONS_TYPE = {}): DynamicModule {
    return HealthModule.assemble(HealthOptionsModule.forRoot(options));
  }

  static forRootAsync(options: typeof HEALTH_ASYNC_OPTIONS_TYPE): DynamicModule {
    return HealthModule.assemble(HealthOptionsModule.forRootAsync(options));
  }

  private static assemble(definition: DynamicModule): DynamicModule {
    const optionsModule: DynamicModule = { ...definition, exports: [HEALTH_MODULE_OPTIONS] };
    return {
      module: HealthModule,
      // Terminus' own "Health Check has failed!" error on every failing probe is replaced by
      // one line per readiness change (HealthController).
      imports: [optionsModule, TerminusModule.forRoot({ logger: false })],
      controllers: [HealthController],
      providers: [
        ReadinessState,
        DatabaseHealthIndicator,
        DatabasePoolsHealthIndicator,
        DatabaseReplicasHealthIndicator,
        EventLoopHealthIndicator,
        RedisHealthIndicator,
      ],
      exports: [ReadinessState],
    };
  }
}
