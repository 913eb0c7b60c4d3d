import { Inject, Injectable, Logger, OnApplicationShutdown, OnModuleInit } from '@nestjs/common';
import { InjectMetric } from '@willsoto/nestjs-prometheus';
import { Piscina } from 'piscina';
import type { Gauge, Histogram } from 'prom-client';
import { RunTaskOptions, WorkerModuleOptions } from './interfaces';
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

type TaskOutcome = 'ok' | 'error' | 'aborted' | 'timeout' | 'busy';
type Handler = (input: unknown) => unknown;

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
 */
@Injectable()
export class WorkerService implements OnModuleInit, OnApplicationShutdown {
  private readonly logger = new Logger(WorkerService.name);
  private readonly pool: Piscina | undefined;
  private readonly inlineHandlers = new Map<string, Promise<Handler>>();
  private inFlight = 0;

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
  async run<I, O>(task: WorkerTask<I, O>, input: I, options: RunTaskOptions = {}): Promise<O> {
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
    }
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
    { signal, transferList }: RunTaskOptions,
  ): Promise<O> {
    // Admission is counted here: piscina keeps tasks that carry a signal in a queue its
    // maxQueue does not bound.
    if (this.inFlight >= pool.maxThreads + this.options.maxQueue) {
      throw new WorkerPoolBusyException();
    }
    const timeout = AbortSignal.timeout(this.options.taskTimeoutMs);
    const output = pool.run(input, {
      filename: task.filename,
      signal: signal ? AbortSignal.any([signal, timeout]) : timeout,
      transferList,
    }) as Promise<O>;
    this.inFlight += 1;
    this.observe(pool);
    try {
      return await output;
    } catch (error) {
      if (error instanceof Error && error.name === 'AbortError' && !signal?.aborted) {
        throw new WorkerTaskTimeoutException(task.name, this.options.taskTimeoutMs);
      }
      throw error;
    } finally {
      this.inFlight -= 1;
      this.observe(pool);
    }
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
    const queued = pool.queueSize;
    this.queueGauge.set(queued);
    this.utilizationGauge.set(Math.min(1, Math.max(0, this.inFlight - queued) / pool.maxThreads));
  }
}
