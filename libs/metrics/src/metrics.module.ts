import { DynamicModule, Module } from '@nestjs/common';
import { PrometheusModule } from '@willsoto/nestjs-prometheus';
import { MetricsController } from './metrics.controller';
import { METRICS_PATH } from './metrics.constants';
import { HttpMetricsHooks, httpRequestDurationProvider } from './metrics.hooks';
import {
  METRICS_ASYNC_OPTIONS_TYPE,
  METRICS_OPTIONS_TYPE,
  MetricsOptionsModule,
} from './metrics.module-definition';
import { MetricsService } from './metrics.service';

/**
 * Prometheus metrics at `GET /metrics` (docs/observability.md) through `@willsoto/nestjs-prometheus`
 * on prom-client's default registry: the HTTP duration histogram by route template, Node's
 * runtime metrics, the database pool, and every metric other modules declare with
 * `makeCounterProvider` / `makeGaugeProvider` / `makeHistogramProvider` and inject with
 * `@InjectMetric(name)`. In a cluster worker (`clusterWorker: true`) a scrape returns all
 * workers' metrics, aggregated by the primary (`serveClusterMetrics()`).
 *
 * @example
 * MetricsModule.forRoot({ token: process.env.METRICS_TOKEN, clusterWorker: cluster.isWorker })
 */
@Module({})
export class MetricsModule {
  static forRoot(options: typeof METRICS_OPTIONS_TYPE = {}): DynamicModule {
    return MetricsModule.assemble(MetricsOptionsModule.forRoot(options));
  }

  static forRootAsync(options: typeof METRICS_ASYNC_OPTIONS_TYPE): DynamicModule {
    return MetricsModule.assemble(MetricsOptionsModule.forRootAsync(options));
  }

  private static assemble(definition: DynamicModule): DynamicModule {
    const serviceModule: DynamicModule = {
      ...definition,
      providers: [...(definition.providers ?? []), MetricsService],
      exports: [MetricsService],
    };
    return {
      module: MetricsModule,
      imports: [
        serviceModule,
        // Default metrics are collected once per process by MetricsService: prom-client
        // refuses to register them twice, which a second app in one process would do.
        PrometheusModule.registerAsync({
          imports: [serviceModule],
          controller: MetricsController,
          useFactory: () => ({
            path: METRICS_PATH,
            controller: MetricsController,
            defaultMetrics: { enabled: false },
          }),
        }),
      ],
      providers: [httpRequestDurationProvider, HttpMetricsHooks],
    };
  }
}
