/** Name of the tracer of loadstar's own spans (limiter, cache, worker tasks, jobs). */
export const TRACER_NAME = 'loadstar';

/**
 * The response header carrying the request's trace (W3C Trace Context Level 2 `traceresponse`:
 * `00-<trace id>-<server span id>-<flags>`), so a client can look its request up.
 */
export const TRACE_RESPONSE_HEADER = 'traceresponse';

/** The OTLP protocols this build ships exporters for (`OTEL_EXPORTER_OTLP_PROTOCOL`). */
export const OTLP_PROTOCOLS = ['http/protobuf', 'http/json'] as const;

/** One of {@link OTLP_PROTOCOLS}; `http/protobuf` unless set, as in every OpenTelemetry SDK. */
export type OtlpProtocol = (typeof OTLP_PROTOCOLS)[number];

/** Paths whose requests get no trace: probes and scrapes would drown the requests that matter. */
export const UNTRACED_PATHS = ['/health/', '/metrics'] as const;

/** How long the shutdown waits for the last spans to leave (an unreachable collector's). */
export const SHUTDOWN_FLUSH_TIMEOUT_MS = 2_000;
