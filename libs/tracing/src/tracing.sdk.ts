import type { Span } from '@opentelemetry/api';
import type { FastifyRequest } from 'fastify';
import type { OtlpProtocol } from './tracing.constants';
import { OTLP_PROTOCOLS, SHUTDOWN_FLUSH_TIMEOUT_MS, UNTRACED_PATHS } from './tracing.constants';

type Env = Readonly<Record<string, string | undefined>>;

/** The running SDK. */
export interface TracingSdk {
  /** Exports the spans still queued (waiting at most a bounded time), then stops. */
  shutdown(): Promise<void>;
}

let running: TracingSdk | undefined;

/** Where spans go: `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`, else `OTEL_EXPORTER_OTLP_ENDPOINT`. */
export function tracesEndpoint(env: Env): string | undefined {
  if (env.OTEL_SDK_DISABLED?.trim().toLowerCase() === 'true') return undefined;
  return (
    env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT?.trim() ||
    env.OTEL_EXPORTER_OTLP_ENDPOINT?.trim() ||
    undefined
  );
}

/**
 * The traces' protocol (`OTEL_EXPORTER_OTLP_TRACES_PROTOCOL`, else `OTEL_EXPORTER_OTLP_PROTOCOL`,
 * else `http/protobuf`); `undefined` for one this build has no exporter for (`grpc`), which
 * `parseEnvironment` reports.
 */
export function tracesProtocol(env: Env): OtlpProtocol | undefined {
  const value =
    env.OTEL_EXPORTER_OTLP_TRACES_PROTOCOL?.trim() ||
    env.OTEL_EXPORTER_OTLP_PROTOCOL?.trim() ||
    'http/protobuf';
  return (OTLP_PROTOCOLS as readonly string[]).includes(value)
    ? (value as OtlpProtocol)
    : undefined;
}

/** The SDK started by {@link startTracing} in this process, if any. */
export function runningTracing(): TracingSdk | undefined {
  return running;
}

/**
 * Starts OpenTelemetry tracing when an OTLP endpoint is set, configured by the SDK's own
 * variables (docs/tracing.md): the exporter by `OTEL_EXPORTER_OTLP_*`, sampling by
 * `OTEL_TRACES_SAMPLER(_ARG)` (parent-based, always on, by default), the resource by
 * `OTEL_SERVICE_NAME` and `OTEL_RESOURCE_ATTRIBUTES`, the export queue by `OTEL_BSP_*` (2048
 * spans at most: beyond it spans are dropped, so an unreachable collector costs bounded memory).
 *
 * Instrumentations patch modules as they are loaded, so this must run before Fastify, pg and
 * `@redis/client` are first required: `src/tracing.ts` calls it and is `main.ts`'s first import.
 * Without an endpoint nothing is loaded or patched, and tracing costs nothing.
 *
 * @returns the running SDK, or `undefined` when tracing is off
 */
export function startTracing(
  env: Env = process.env,
  options: StartTracingOptions = {},
): TracingSdk | undefined {
  const endpoint = tracesEndpoint(env);
  const protocol = tracesProtocol(env);
  if (running || endpoint === undefined || protocol === undefined) return running;
  running = startSdk(protocol, options.instrument ?? true);
  return running;
}

/** Options of {@link startTracing}. */
export interface StartTracingOptions {
  /**
   * Patch HTTP, Fastify, pg, Redis and undici; a worker thread, which uses none of them, only
   * exports the spans it starts itself.
   * @default true
   */
  instrument?: boolean;
}

/**
 * Names a sampled server span `GET /api/users/:id` (the HTTP semantic conventions' name) and
 * adds the client's address and agent; an unsampled span records nothing and is left alone.
 */
function nameServerSpan(span: Span, request: FastifyRequest): void {
  if (!span.isRecording()) return;
  const route = request.routeOptions.url;
  span.updateName(route === undefined ? request.method : `${request.method} ${route}`);
  span.setAttribute('client.address', request.ip);
  span.setAttribute('url.scheme', request.protocol);
  const agent = request.headers['user-agent'];
  if (agent !== undefined) span.setAttribute('user_agent.original', agent);
}

/* eslint-disable @typescript-eslint/no-require-imports --
   required on demand, not imported: with tracing off none of the SDK is loaded */
function startSdk(protocol: OtlpProtocol, instrument: boolean): TracingSdk {
  const { NodeTracerProvider, BatchSpanProcessor } =
    require('@opentelemetry/sdk-trace-node') as typeof import('@opentelemetry/sdk-trace-node');
  const { defaultResource, detectResources, envDetector, resourceFromAttributes } =
    require('@opentelemetry/resources') as typeof import('@opentelemetry/resources');
  const { registerInstrumentations } =
    require('@opentelemetry/instrumentation') as typeof import('@opentelemetry/instrumentation');
  const { HttpInstrumentation } =
    require('@opentelemetry/instrumentation-http') as typeof import('@opentelemetry/instrumentation-http');
  const { PgInstrumentation } =
    require('@opentelemetry/instrumentation-pg') as typeof import('@opentelemetry/instrumentation-pg');
  const { RedisInstrumentation } =
    require('@opentelemetry/instrumentation-redis') as typeof import('@opentelemetry/instrumentation-redis');
  const { UndiciInstrumentation } =
    require('@opentelemetry/instrumentation-undici') as typeof import('@opentelemetry/instrumentation-undici');
  const { FastifyOtelInstrumentation } = require('@fastify/otel') as typeof import('@fastify/otel');
  const { OTLPTraceExporter } = (
    protocol === 'http/json'
      ? require('@opentelemetry/exporter-trace-otlp-http')
      : require('@opentelemetry/exporter-trace-otlp-proto')
  ) as typeof import('@opentelemetry/exporter-trace-otlp-proto');
  /* eslint-enable @typescript-eslint/no-require-imports */

  const resource = defaultResource()
    .merge(resourceFromAttributes({ 'service.name': 'loadstar' }))
    .merge(detectResources({ detectors: [envDetector] }));
  const provider = new NodeTracerProvider({
    resource,
    spanProcessors: [new BatchSpanProcessor(new OTLPTraceExporter())],
  });
  // the W3C trace-context and baggage propagators, and an AsyncLocalStorage context manager
  provider.register();
  const untraced = (url: string | undefined) =>
    url !== undefined && UNTRACED_PATHS.some((path) => url.startsWith(path));
  registerInstrumentations({
    tracerProvider: provider,
    instrumentations: !instrument
      ? []
      : [
          // outgoing calls only: the server span comes from Fastify's hook below. The HTTP
          // instrumentation's server side computes a span's attributes and binds the request's
          // emitters before the sampler decides, about a third of a cached read's CPU at 10 %
          new HttpInstrumentation({ disableIncomingRequestInstrumentation: true }),
          // the server span, named by route template, with the errors of handlers; a span per
          // hook (15 a request here, named after the plugin chain) would bury the ones that matter
          new FastifyOtelInstrumentation({
            registerOnInitialization: true,
            instrumentHooks: false,
            instrumentHandler: false,
            ignorePaths: ({ url }) => untraced(url),
            requestHook: nameServerSpan,
          }),
          // statement text without parameter values (enhancedDatabaseReporting off); the command
          // name alone for Redis, whose arguments hold keys made of user ids and client addresses
          new PgInstrumentation({ requireParentSpan: true }),
          new RedisInstrumentation({
            requireParentSpan: true,
            dbStatementSerializer: (command) => command,
          }),
          new UndiciInstrumentation(),
        ],
  });
  return {
    async shutdown() {
      let timer: NodeJS.Timeout | undefined;
      const timedOut = new Promise<void>((resolve) => {
        timer = setTimeout(resolve, SHUTDOWN_FLUSH_TIMEOUT_MS);
      });
      await Promise.race([provider.shutdown().catch(() => undefined), timedOut]);
      clearTimeout(timer);
      running = undefined;
    },
  };
}
