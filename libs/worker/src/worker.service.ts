import { Inject, Injectable, Logger, OnApplicationShutdown, OnModuleInit } from '@nestjs/common';
import { InjectMetric } from '@willsoto/nestjs-prometheus';
import { inSpan, runningTracing, traceCarrier } from '@app/tracing';
import { Piscina } from 'piscina';
import type { Gauge, Histogram } from 'prom-client';
import { RunTaskOptions, TaskPriority, WorkerModuleOptions } from './interfaces';
import type tracedTask from './tasks/traced.task';
import type { TracedTaskInput } from './tasks/traced.task';
import type warmUp from './tasks/warm-up.task';
import { defineWorkerTask, WorkerTask } from './worker-task';
import {
  DEFAULT_CLOSE_TIMEOUT_MS,
  DEFAULT_NICE_INCREMENT,
  DEFAULT_RESOURCE_LIMITS,
  WORKER_POOL_QUEUE_SIZE,
  WORKER_POOL_TASK_DURATION,
  WORKER_POOL_UTILIZATION,
} from './worker.constants';
import {
  ClientDisconnectedException,
  WorkerPoolBusyException,
  WorkerTaskTimeoutException,
} from './worker.errors';
import { WORKER_MODULE_OPTIONS } from './worker.module-definition';

/**
 * Node options of the threads. The built application (dist/) runs `.js` task files, and its
 * threads inherit the process's options. Run from the TypeScript sources (Jest, ts-node) this
 * file is `.ts` and so are the task files; a thread does not inherit the main thread's require
 * hooks, so unless the process itself was started with ts-node (whose `-r` options threads
 * inherit) each thread preloads ts-node's JS entry and the tsconfig path aliases.
 */
function threadExecArgv(): string[] | undefined {
  const fromSources = __filename.endsWith('.ts');
  if (!fromSources || process.execArgv.some((option) => option.includes('ts-node'))) {
    return undefined;
  }
  return [
    ...process.execArgv,
    '--require',
    require.resolve('ts-node/register/transpile-only'),
    '--require',
    require.resolve('tsconfig-paths/register'),
  ];
}
const WARM_UP = defineWorkerTask<typeof warmUp>(require.resolve('./tasks/warm-up.task'));
const TRACED = defineWorkerTask<typeof tracedTask>(require.resolve('./tasks/traced.task'));

type TaskOutcome = 'ok' | 'error' | 'aborted' | 'timeout' | 'busy';
type Handler = (input: unknown) => unknown;

/** A task waiting for a thread: started (or dropped, when aborted first) by the pool's turn. */
interface Waiting {
  start(): void;
}

/** The error of a task aborted while it waited, named like piscina's (which it does not export). */
function abortedWhileWaiting(): Error {
  const error = new Error('The task was aborted while waiting for a thread');
  error.name = 'AbortError';
  return error;
}

function outcomeOf(error: unknown): TaskOutcome {
  if (error instanceof WorkerTaskTimeoutException) return 'timeout';
  if (error instanceof WorkerPoolBusyException) return 'busy';
  if (error instanceof ClientDisconnectedException) return 'aborted';
  return error instanceof Error && error.name === 'AbortError' ? 'aborted' : 'error';
}

/**
 * One `piscina` pool of worker threads per process for CPU-heavy work that would otherwise
 * block the event loop. Threads start (and load a warm-up task) with the application; the
 * queue is bounded (a full one answers 503), every task has a time budget and can be
 * cancelled with an `AbortSignal`. With `offload: false` tasks run on the calling thread.
 *
 * The queue is the service's own, in two lanes: a task is handed to piscina only when a thread
 * is free, and a free thread takes the oldest `high` task before any `normal` one. Each lane
 * admits `size + maxQueue` tasks of its own, so a flood of normal work (registrations hashing
 * passwords) neither refuses nor delays urgent work (logins) beyond the tasks already running.
 * (piscina cannot order its queue: tasks with an `AbortSignal` bypass a custom task queue.)
 */
@Injectable()
export class WorkerService implements OnModuleInit, OnApplicationShutdown {
  private readonly logger = new Logger(WorkerService.name);
  private readonly pool: Piscina | undefined;
  private readonly inlineHandlers = new Map<string, Promise<Handler>>();
  /** Tasks handed to piscina and not finished. */
  private running = 0;
  /** Tasks admitted (running or waiting), per lane. */
  private readonly admitted: Record<TaskPriority, number> = { high: 0, normal: 0 };
  private readonly waiting: Record<TaskPriority, Waiting[]> = { high: [], normal: [] };

  constructor(
    @Inject(WORKER_MODULE_OPTIONS) private readonly options: WorkerModuleOptions,
    @InjectMetric(WORKER_POOL_QUEUE_SIZE) private readonly queueGauge: Gauge,
    @InjectMetric(WORKER_POOL_UTILIZATION) private readonly utilizationGauge: Gauge,
    @InjectMetric(WORKER_POOL_TASK_DURATION)
    private readonly durationHistogram: Histogram<'task' | 'outcome'>,
  ) {
    this.pool = options.offload ? this.createPool() : undefined;
  }

  /** Threads of the pool; 0 when tasks run on the main thread. */
  get threads(): number {
    return this.pool?.threads.length ?? 0;
  }

  /**
   * Runs `task` with `input` in the pool (structured clone both ways).
   *
   * @throws WorkerPoolBusyException (503) when every thread is busy and the queue is full
   * @throws WorkerTaskTimeoutException (503) when the task is over `taskTimeoutMs`
   * @throws the `AbortError` of piscina when `options.signal` aborts it first
   */
  run<I, O>(task: WorkerTask<I, O>, input: I, options: RunTaskOptions = {}): Promise<O> {
    // the span covers the wait for a thread too; the thread's own span is its child
    return inSpan('worker.run', { 'worker.task': task.name }, async (span) => {
      const stopTimer = this.durationHistogram.startTimer({ task: task.name });
      let outcome: TaskOutcome = 'ok';
      try {
        return this.pool
          ? await this.runPooled(this.pool, task, input, options)
          : await this.runInline(task, input, options.signal);
      } catch (error) {
        outcome = outcomeOf(error);
        throw error;
      } finally {
        stopTimer({ outcome });
        span?.setAttribute('worker.outcome', outcome);
      }
    });
  }

  onModuleInit(): void {
    const pool = this.pool;
    if (!pool) return;
    // Not awaited: the threads warm up while the rest of the application starts.
    const warmUps = Array.from({ length: pool.maxThreads }, () =>
      pool.run(undefined, { filename: WARM_UP.filename }),
    );
    Promise.all(warmUps).then(
      () => this.logger.debug(`${pool.maxThreads} worker thread(s) ready`),
      (error: unknown) => this.logger.error({ err: error }, 'worker threads failed to start'),
    );
  }

  async onApplicationShutdown(): Promise<void> {
    const pool = this.pool;
    if (!pool) return;
    try {
      await pool.close({ force: false });
    } catch (error) {
      this.logger.warn({ err: error }, 'worker tasks still running at shutdown; terminating them');
      await pool.destroy();
    }
  }

  private createPool(): Piscina {
    const { size, resourceLimits, closeTimeoutMs, niceIncrement } = this.options;
    const pool = new Piscina({
      minThreads: size,
      maxThreads: size,
      // piscina applies it in each thread with @napi-rs/nice (Linux's nice is per thread)
      niceIncrement: niceIncrement ?? DEFAULT_NICE_INCREMENT,
      resourceLimits: { ...DEFAULT_RESOURCE_LIMITS, ...resourceLimits },
      closeTimeout: closeTimeoutMs ?? DEFAULT_CLOSE_TIMEOUT_MS,
      execArgv: threadExecArgv(),
      // With tracing, a thread exports its spans on a timer between tasks, which a thread
      // paused in Atomics.wait (piscina's default) would never run.
      atomics: runningTracing() ? 'async' : 'sync',
    });
    // A thread that dies outside a task (e.g. over its resource limits) is replaced by
    // piscina; without a listener the event would crash the process.
    pool.on('error', (error: unknown) => this.logger.error({ err: error }, 'worker thread failed'));
    return pool;
  }

  private async runPooled<I, O>(
    pool: Piscina,
    task: WorkerTask<I, O>,
    input: I,
    { signal, transferList, priority = 'normal' }: RunTaskOptions,
  ): Promise<O> {
    if (this.admitted[priority] >= pool.maxThreads + this.options.maxQueue) {
      throw new WorkerPoolBusyException();
    }
    const timeout = AbortSignal.timeout(this.options.taskTimeoutMs);
    const abort = signal ? AbortSignal.any([signal, timeout]) : timeout;
    this.admitted[priority] += 1;
    try {
      await this.turn(pool, priority, abort);
      try {
        const carrier = traceCarrier();
        const message: TracedTaskInput | I = carrier
          ? { filename: task.filename, name: task.name, input, carrier }
          : input;
        return (await pool.run(message, {
          filename: carrier ? TRACED.filename : task.filename,
          signal: abort,
          transferList,
        })) as O;
      } finally {
        this.running -= 1;
        this.startNext();
      }
    } catch (error) {
      if (error instanceof Error && error.name === 'AbortError' && !signal?.aborted) {
        throw new WorkerTaskTimeoutException(task.name, this.options.taskTimeoutMs);
      }
      throw error;
    } finally {
      this.admitted[priority] -= 1;
      this.observe(pool);
    }
  }

  /** Resolves once the task holds a thread: at once when one is free, else in its lane's turn. */
  private turn(pool: Piscina, priority: TaskPriority, abort: AbortSignal): Promise<void> {
    if (this.running < pool.maxThreads) {
      this.running += 1;
      this.observe(pool);
      return Promise.resolve();
    }
    if (abort.aborted) return Promise.reject(abortedWhileWaiting());
    return new Promise((resolve, reject) => {
      const lane = this.waiting[priority];
      const onAbort = () => {
        lane.splice(lane.indexOf(waiting), 1);
        this.observe(pool);
        reject(abortedWhileWaiting());
      };
      const waiting: Waiting = {
        start: () => {
          abort.removeEventListener('abort', onAbort);
          resolve();
        },
      };
      lane.push(waiting);
      abort.addEventListener('abort', onAbort, { once: true });
      this.observe(pool);
    });
  }

  /** A thread is free: the oldest waiting `high` task gets it, else the oldest `normal` one. */
  private startNext(): void {
    const next = this.waiting.high.shift() ?? this.waiting.normal.shift();
    if (next === undefined) return;
    this.running += 1;
    next.start();
  }

  private async runInline<I, O>(task: WorkerTask<I, O>, input: I, signal?: AbortSignal) {
    signal?.throwIfAborted();
    let handler = this.inlineHandlers.get(task.filename);
    if (!handler) {
      handler = import(task.filename).then((module: { default: Handler }) => module.default);
      this.inlineHandlers.set(task.filename, handler);
    }
    return (await (
      await handler
    )(input)) as O;
  }

  /** Gauges move only when a task is queued, starts or ends, so they are set right then. */
  private observe(pool: Piscina): void {
    this.queueGauge.set(this.waiting.high.length + this.waiting.normal.length);
    this.utilizationGauge.set(Math.min(1, this.running / pool.maxThreads));
  }
}
