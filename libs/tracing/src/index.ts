export {
  OTLP_PROTOCOLS,
  type OtlpProtocol,
  TRACE_RESPONSE_HEADER,
  TRACER_NAME,
} from './tracing.constants';
export { TracingModule } from './tracing.module';
export {
  runningTracing,
  startTracing,
  type StartTracingOptions,
  type TracingSdk,
  tracesEndpoint,
  tracesProtocol,
} from './tracing.sdk';
export {
  failSpan,
  inCarriedSpan,
  inRootSpan,
  inSpan,
  linkToCarried,
  recordedContext,
  recordingSpan,
  sampledTraceLabels,
  type TraceCarrier,
  traceCarrier,
  traceLogFields,
  tracer,
  startBatchSpan,
  withSpan,
} from './tracing.spans';
