import {
  Attributes,
  context,
  Context,
  Link,
  propagation,
  ROOT_CONTEXT,
  Span,
  SpanKind,
  SpanOptions,
  SpanStatusCode,
  trace,
  TraceFlags,
} from '@opentelemetry/api';
import { TRACER_NAME } from './tracing.constants';
import { runningTracing } from './tracing.sdk';

/** loadstar's tracer: a no-op until `startTracing` registers the SDK. */
export const tracer = trace.getTracer(TRACER_NAME);

/** W3C trace-context headers, as carried to a worker thread or in a job's data. */
export type TraceCarrier = Record<string, string>;

/**
 * The span of the current context when it is being recorded (tracing on and the trace
 * sampled); libraries start their own spans only then, so tracing off costs one lookup.
 */
export function recordingSpan(): Span | undefined {
  const span = trace.getActiveSpan();
  return span?.isRecording() ? span : undefined;
}

/**
 * Runs `fn` in a new child span of the current one, active while `fn` runs (the spans of the
 * calls it makes are its children); ended when `fn` settles, an error recorded on it. Without a
 * recording span `fn` runs alone, given `undefined`.
 */
export function inSpan<T>(
  name: string,
  attributes: Attributes,
  fn: (span: Span | undefined) => Promise<T>,
): Promise<T> {
  return recordingSpan() === undefined ? fn(undefined) : runInSpan(name, attributes, fn);
}

async function runInSpan<T>(
  name: string,
  attributes: Attributes,
  fn: (span: Span) => Promise<T>,
  options: SpanOptions = {},
  parent?: Context,
): Promise<T> {
  const span = tracer.startSpan(name, { ...options, attributes }, parent);
  try {
    return await withSpan(span, () => fn(span));
  } catch (error) {
    failSpan(span, error);
    throw error;
  } finally {
    span.end();
  }
}

/**
 * Runs `fn` in a new root span (work that outlives the request that asked for it, such as a
 * job), linked to `link`; sampled on its own. Without tracing `fn` runs alone.
 */
export function inRootSpan<T>(
  name: string,
  attributes: Attributes,
  link: Link | undefined,
  fn: () => Promise<T>,
): Promise<T> {
  if (runningTracing() === undefined) return fn();
  const links = link ? [link] : [];
  return runInSpan(name, attributes, fn, { root: true, kind: SpanKind.CONSUMER, links });
}

/** A link to the span a {@link traceCarrier} describes, if it describes one. */
export function linkToCarried(carrier: TraceCarrier): Link | undefined {
  const spanContext = trace.getSpanContext(propagation.extract(ROOT_CONTEXT, carrier));
  return spanContext ? { context: spanContext } : undefined;
}

/** Marks `span` as failed by `error`. */
export function failSpan(span: Span, error: unknown): void {
  span.recordException(error instanceof Error ? error : String(error));
  span.setStatus({ code: SpanStatusCode.ERROR });
}

/** The current context when its span is being recorded, to start spans for it later. */
export function recordedContext(): Context | undefined {
  return recordingSpan() === undefined ? undefined : context.active();
}

/**
 * The span of one operation done for many callers at once (a batched Redis call), given each
 * caller's {@link recordedContext}: a child of the first caller's span, linked to the others',
 * whose spans link back to it. `undefined` when no caller is recorded.
 */
export function startBatchSpan(
  name: string,
  callers: readonly Context[],
  attributes: Attributes,
): Span | undefined {
  if (callers.length === 0) return undefined;
  const links: Link[] = callers
    .slice(1)
    .map((caller) => ({ context: trace.getSpan(caller)!.spanContext() }));
  const span = tracer.startSpan(name, { attributes, links }, callers[0]);
  const link: Link = { context: span.spanContext() };
  for (const caller of callers.slice(1)) trace.getSpan(caller)!.addLink(link);
  return span;
}

/** Runs `fn` with `span` active: the spans of the calls it makes are its children. */
export function withSpan<T>(span: Span, fn: () => T): T {
  return context.with(trace.setSpan(context.active(), span), fn);
}

/**
 * The current trace context as `traceparent` / `tracestate` headers, to hand to another thread
 * or a job; `undefined` when nothing is being recorded.
 */
export function traceCarrier(): TraceCarrier | undefined {
  if (recordingSpan() === undefined) return undefined;
  const carrier: TraceCarrier = {};
  propagation.inject(context.active(), carrier);
  return carrier;
}

/** Runs `fn` in a span continuing the trace a {@link traceCarrier} describes (another thread's). */
export function inCarriedSpan<T>(
  name: string,
  attributes: Attributes,
  carrier: TraceCarrier,
  fn: () => Promise<T>,
): Promise<T> {
  return runInSpan(name, attributes, fn, {}, propagation.extract(context.active(), carrier));
}

/**
 * `trace_id` and `span_id` of the active span, for a log line (pino's `mixin`, which merges the
 * line's fields into the object returned: a new one each time).
 */
export function traceLogFields(): { trace_id?: string; span_id?: string } {
  const span = trace.getActiveSpan();
  if (span === undefined) return {};
  const { traceId, spanId } = span.spanContext();
  return { trace_id: traceId, span_id: spanId };
}

/**
 * `trace_id` and `span_id` of the active span when its trace is sampled (exported), as the
 * labels of a metric's exemplar; `undefined` otherwise, so an exemplar never names a trace the
 * collector never got. The span may have ended (a response's last hook runs after its server
 * span ended): its sampling decision is in its context, not in whether it still records.
 */
export function sampledTraceLabels(): { trace_id: string; span_id: string } | undefined {
  const spanContext = trace.getActiveSpan()?.spanContext();
  if (spanContext === undefined || (spanContext.traceFlags & TraceFlags.SAMPLED) === 0) {
    return undefined;
  }
  return { trace_id: spanContext.traceId, span_id: spanContext.spanId };
}
