import { Injectable, OnApplicationShutdown, OnModuleInit } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import { trace } from '@opentelemetry/api';
import type { FastifyInstance } from 'fastify';
import { TRACE_RESPONSE_HEADER } from './tracing.constants';
import { runningTracing } from './tracing.sdk';

/**
 * Gives each traced response its `traceresponse` header, and exports the last spans at
 * shutdown. Does nothing when tracing is off.
 *
 * @internal installed by {@link TracingModule}
 */
@Injectable()
export class TracingHooks implements OnModuleInit, OnApplicationShutdown {
  constructor(private readonly adapterHost: HttpAdapterHost) {}

  onModuleInit(): void {
    const fastify = this.adapterHost.httpAdapter?.getInstance<FastifyInstance>();
    if (!fastify || runningTracing() === undefined) return;
    fastify.addHook('onRequest', (_request, reply, done) => {
      const span = trace.getActiveSpan();
      if (span !== undefined) {
        const { traceId, spanId, traceFlags } = span.spanContext();
        const flags = traceFlags.toString(16).padStart(2, '0');
        reply.header(TRACE_RESPONSE_HEADER, `00-${traceId}-${spanId}-${flags}`);
      }
      done();
    });
  }

  async onApplicationShutdown(): Promise<void> {
    await runningTracing()?.shutdown();
  }
}
