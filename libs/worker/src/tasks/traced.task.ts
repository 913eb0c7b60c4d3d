import { inCarriedSpan, startTracing, TraceCarrier } from '@app/tracing';

/** What `WorkerService` sends a thread for a task of a traced request. @internal */
export interface TracedTaskInput {
  filename: string;
  name: string;
  input: unknown;
  carrier: TraceCarrier;
}

type Handler = (input: unknown) => unknown;
const handlers = new Map<string, Promise<Handler>>();

/**
 * Runs a task in a span of its own, a child of the main thread's `worker.run` span: the trace
 * context comes in the task's message (threads share no context with the main thread), and the
 * thread exports its spans itself (its SDK started on its first traced task, with no
 * instrumentation: tasks do no I/O).
 */
export default async function tracedTask({
  filename,
  name,
  input,
  carrier,
}: TracedTaskInput): Promise<unknown> {
  startTracing(process.env, { instrument: false });
  let handler = handlers.get(filename);
  if (!handler) {
    handler = import(filename).then((module: { default: Handler }) => module.default);
    handlers.set(filename, handler);
  }
  const run = await handler;
  return inCarriedSpan('worker.task', { 'worker.task': name }, carrier, async () => run(input));
}
