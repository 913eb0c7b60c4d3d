import type { ResourceLimits } from 'node:worker_threads';

/** Options of {@link WorkerModule} (`WORKER_*` variables in docs/configuration.md). */
export interface WorkerModuleOptions {
  /**
   * Threads of the pool, all started (and warmed) with the application.
   * @default one per CPU of the process's share but one, as many as a quarter of its memory
   * holds at 64 MB each (at least 1), through `WORKER_POOL_SIZE`
   */
  size: number;
  /**
   * Tasks that may wait for a free thread, per priority lane; one more is refused with a 503
   * instead of growing an unbounded backlog. `0` refuses every task that finds all threads busy.
   * @default 64 × size through `WORKER_POOL_MAX_QUEUE`
   */
  maxQueue: number;
  /**
   * Budget of one task in milliseconds, time in the queue included. A task over budget is
   * aborted and answers 503; a running one loses its thread, which is replaced.
   * @default 30000 through `WORKER_TASK_TIMEOUT_MS`
   */
  taskTimeoutMs: number;
  /**
   * `false` runs every task on the calling (main) thread instead of the pool, without a
   * timeout: the same code path with the offload switched off, for side-by-side benchmarks.
   * @default true through `WORKER_OFFLOAD`
   */
  offload: boolean;
  /**
   * V8 limits of each worker thread; a thread over them dies and its task fails. A limit left
   * out keeps its default.
   * @default { maxOldGenerationSizeMb: 256, maxYoungGenerationSizeMb: 32, stackSizeMb: 4 }
   */
  resourceLimits?: ResourceLimits;
  /**
   * Nice value added to each thread (Linux; ignored elsewhere): when the cores are busy the
   * event loop, which answers every request, gets the CPU before the pool's batch work.
   * `0` runs the threads at the process's priority.
   * @default 10
   */
  niceIncrement?: number;
  /**
   * How long shutdown waits for running tasks before it terminates the threads.
   * @default 10000
   */
  closeTimeoutMs?: number;
}

/**
 * A task's lane: a free thread takes waiting `high` tasks before `normal` ones, and each lane
 * admits `size + maxQueue` tasks of its own.
 */
export type TaskPriority = 'high' | 'normal';

/** Per-call options of `WorkerService.run`. */
export interface RunTaskOptions {
  /**
   * Cancels the task: a queued one is dropped, a running one loses its thread (so tasks must
   * be idempotent). Pass `@DisconnectSignal()` to cancel when the client goes away.
   */
  signal?: AbortSignal;
  /** Buffers moved to the thread instead of copied; unusable by the caller afterwards. */
  transferList?: ArrayBuffer[];
  /**
   * `high` for short work a person is waiting for (a login's password check), which must not
   * queue behind bulk work (registrations, imports).
   * @default 'normal'
   */
  priority?: TaskPriority;
}
