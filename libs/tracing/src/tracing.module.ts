import { Module } from '@nestjs/common';
import { TracingHooks } from './tracing.hooks';

/**
 * OpenTelemetry tracing's part in the Nest application (docs/tracing.md): the `traceresponse`
 * header on traced responses and the export of the last spans at shutdown. The SDK itself is
 * started before the application by `startTracing`, configured by the `OTEL_*` variables.
 *
 * @example
 * // src/tracing.ts, main.ts's first import
 * startTracing();
 * // app.module.ts
 * imports: [TracingModule]
 */
@Module({ providers: [TracingHooks] })
export class TracingModule {}
