import type { EntityManager } from 'typeorm';

/**
 * A job type: its name plus, for the compiler only, the payload it takes and the result it
 * gives. Made by {@link defineJob}; pass it to `@JobHandler` and `JobsService.enqueue`.
 */
export interface JobType<Payload extends object, Result> {
  readonly name: string;
  /** @internal never set; carries the types */
  readonly types?: { payload: Payload; result: Result };
}

/** Per-type behaviour of a handler. */
export interface JobHandlerOptions {
  /**
   * Jobs of this type one process runs at a time.
   * @default 1
   */
  concurrency?: number;
  /**
   * Attempts before the job is `failed` (the first run included).
   * @default 3
   */
  maxAttempts?: number;
  /**
   * Delay before the first retry; each further retry waits about twice as long (with jitter).
   * @default 1
   */
  retryDelaySeconds?: number;
}

/** What a handler gets for one attempt at one job. */
export interface JobContext<Payload> {
  id: string;
  payload: Payload;
  /** 1 on the first attempt. */
  attempt: number;
  /** Aborts when the job is cancelled, or when the process shuts down before it ends. */
  signal: AbortSignal;
  /** Request id of the request that enqueued the job, for logs. */
  requestId: string | undefined;
  /**
   * Records progress; with `manager`, inside that transaction, so that progress and the work
   * it describes commit (or roll back) together.
   */
  reportProgress(done: number, total: number | null, manager?: EntityManager): Promise<void>;
}

/** A class marked with `@JobHandler(type)`; what `handle` returns is the job's `result`. */
export interface JobHandlerInstance<Payload extends object, Result> {
  handle(context: JobContext<Payload>): Promise<Result>;
}
