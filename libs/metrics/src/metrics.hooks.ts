import { Injectable, OnModuleInit } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import { InjectMetric, makeHistogramProvider } from '@willsoto/nestjs-prometheus';
import type {
  FastifyInstance,
  FastifyReply,
  FastifyRequest,
  HookHandlerDoneFunction,
} from 'fastify';
import type { Histogram } from 'prom-client';
import {
  DEFAULT_DURATION_BUCKETS,
  HTTP_REQUEST_DURATION,
  UNMATCHED_ROUTE,
} from './metrics.constants';
import { MetricsService } from './metrics.service';

type HttpDurationLabels = 'method' | 'route' | 'status_code';

/** `http_request_duration_seconds` (contract §3). @internal */
export const httpRequestDurationProvider = makeHistogramProvider({
  name: HTTP_REQUEST_DURATION,
  help: 'Duration of HTTP requests, from arrival to the last byte of the response, by route template',
  labelNames: ['method', 'route', 'status_code'],
  buckets: [...DEFAULT_DURATION_BUCKETS],
});

/**
 * Observes every response in a Fastify `onResponse` hook rather than a Nest interceptor: it
 * costs one function call and sees what an interceptor misses (404s, body-parser errors,
 * responses of guards and filters, time spent sending). Labelled by the route template
 * (`routeOptions.url`, e.g. `/api/users/:id`), never by the raw URL.
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
    fastify.addHook(
      'onResponse',
      (request: FastifyRequest, reply: FastifyReply, done: HookHandlerDoneFunction) => {
        duration.observe(
          {
            method: request.method,
            route: request.routeOptions.url ?? UNMATCHED_ROUTE,
            status_code: reply.statusCode,
          },
          reply.elapsedTime / 1000,
        );
        done();
      },
    );
  }
}
