import { FactoryProvider, Injectable, OnModuleInit } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import { getToken, InjectMetric } from '@willsoto/nestjs-prometheus';
import { runningTracing, sampledTraceLabels } from '@app/tracing';
import type {
  FastifyInstance,
  FastifyReply,
  FastifyRequest,
  HookHandlerDoneFunction,
} from 'fastify';
import { Histogram, type LabelValues, register } from 'prom-client';
import {
  DEFAULT_DURATION_BUCKETS,
  HTTP_REQUEST_DURATION,
  UNMATCHED_ROUTE,
} from './metrics.constants';
import { MetricsService } from './metrics.service';

type HttpDurationLabels = 'method' | 'route' | 'status_code';

/**
 * `http_request_duration_seconds` (docs/observability.md), one per process like the registry.
 * With tracing running it keeps an exemplar per bucket (the last sampled request's trace);
 * without, it is prom-client's plain histogram, whose `observe` takes no exemplar argument.
 *
 * @internal
 */
export const httpRequestDurationProvider: FactoryProvider<Histogram<HttpDurationLabels>> = {
  provide: getToken(HTTP_REQUEST_DURATION),
  useFactory: () => {
    const existing = register.getSingleMetric(HTTP_REQUEST_DURATION);
    if (existing) return existing as Histogram<HttpDurationLabels>;
    const histogram = new Histogram<HttpDurationLabels>({
      name: HTTP_REQUEST_DURATION,
      help: 'Duration of HTTP requests, from arrival to the last byte of the response, by route template',
      labelNames: ['method', 'route', 'status_code'],
      buckets: [...DEFAULT_DURATION_BUCKETS],
      enableExemplars: runningTracing() !== undefined,
      // prom-client refuses exemplars in a registry of Prometheus' format, which cannot show
      // them; the default registry stays in that format and leaves them out, and a scrape
      // asking for OpenMetrics renders it through a view that shows them (MetricsService)
      registers: [],
    });
    register.registerMetric(histogram);
    return histogram;
  },
};

/**
 * Observes every response in a Fastify `onResponse` hook rather than a Nest interceptor: it
 * costs one function call and sees what an interceptor misses (404s, body-parser errors,
 * responses of guards and filters, time spent sending). Labelled by the route template
 * (`routeOptions.url`, e.g. `/api/users/:id`), never by the raw URL. Responses served by the
 * cache's fast path pass through the same hook.
 *
 * With tracing running, a sampled request's observation carries its `trace_id` and `span_id`
 * as the exemplar of its bucket; without tracing the hook is the plain one, so that costs
 * nothing when tracing is off.
 *
 * @internal installed by {@link MetricsModule}
 */
@Injectable()
export class HttpMetricsHooks implements OnModuleInit {
  constructor(
    @InjectMetric(HTTP_REQUEST_DURATION)
    private readonly duration: Histogram<HttpDurationLabels>,
    private readonly adapterHost: HttpAdapterHost,
    private readonly metrics: MetricsService,
  ) {}

  onModuleInit(): void {
    const fastify = this.adapterHost.httpAdapter?.getInstance<FastifyInstance>();
    if (!fastify || !this.metrics.enabled) return;
    const duration = this.duration;
    if (runningTracing() === undefined) {
      fastify.addHook(
        'onResponse',
        (request: FastifyRequest, reply: FastifyReply, done: HookHandlerDoneFunction) => {
          duration.observe(labelsOf(request, reply), reply.elapsedTime / 1000);
          done();
        },
      );
      return;
    }
    fastify.addHook(
      'onResponse',
      (request: FastifyRequest, reply: FastifyReply, done: HookHandlerDoneFunction) => {
        duration.observe({
          labels: labelsOf(request, reply),
          value: reply.elapsedTime / 1000,
          // prom-client types an exemplar's labels as the metric's own, which they never are
          exemplarLabels: sampledTraceLabels() as LabelValues<HttpDurationLabels> | undefined,
        });
        done();
      },
    );
  }
}

function labelsOf(
  request: FastifyRequest,
  reply: FastifyReply,
): Record<HttpDurationLabels, string | number> {
  return {
    method: request.method,
    route: request.routeOptions.url ?? UNMATCHED_ROUTE,
    status_code: reply.statusCode,
  };
}
