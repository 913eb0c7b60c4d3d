import { setTimeout as sleep } from 'node:timers/promises';
import { Logger } from '@nestjs/common';
import type PgBoss from 'pg-boss';
import type { Counter, Histogram } from 'prom-client';
import { inRootSpan, linkToCarried } from '@app/tracing';
import { JobCancelledError, JobFailure, JobInterruptedError } from './jobs.errors';
import { JobHandlerMetadata } from './jobs.decorators';
import { JobOutcome } from './jobs.metrics';
import { JobsRepository } from './jobs.repository';
import { JobHandlerInstance, JobsModuleOptions } from './interfaces';

/** How long interrupted jobs get to see their signal, and the give-back gets to commit. */
const INTERRUPTED_JOBS_GRACE_MS = 2_000;

/** Waits for `work` to settle (either way), for at most `ms`. */
async function settledWithin(work: Promise<unknown>, ms: number): Promise<void> {
  const timer = new AbortController();
  await Promise.race([
    work.catch(() => undefined),
    sleep(ms, undefined, { signal: timer.signal }).catch(() => undefined),
  ]);
  timer.abort();
}

/** The runner's metrics (docs/observability.md). @internal */
export interface JobRunnerMetrics {
  attempts: Counter<'type' | 'outcome'>;
  duration: Histogram<'type'>;
}

interface ActiveJob {
  type: string;
  controller: AbortController;
  done: Promise<void>;
}

/**
 * Runs the handlers of one process: per type, a loop that fetches up to as many jobs as it
 * has free slots (at once again while jobs keep coming, after `pollIntervalMs` once none
 * came); one heartbeat for all active jobs, which also notices cancelled ones.
 * @internal
 */
export class JobRunner {
  private readonly logger = new Logger('Jobs');
  private readonly active = new Map<string, ActiveJob>();
  private readonly stopping = new AbortController();
  private readonly loops: Promise<void>[] = [];
  private readonly wakers = new Map<string, () => void>();
  private readonly heartbeat: NodeJS.Timeout;

  constructor(
    private readonly boss: PgBoss,
    private readonly repository: JobsRepository,
    private readonly options: Required<JobsModuleOptions>,
    private readonly metrics: JobRunnerMetrics,
  ) {
    const every = Math.max(100, Math.min(1_000, Math.floor(options.stallTimeoutMs / 3)));
    this.heartbeat = setInterval(() => void this.beat(), every);
  }

  start(metadata: JobHandlerMetadata, handler: JobHandlerInstance<object, unknown>): void {
    this.loops.push(this.loop(metadata, handler));
  }

  /**
   * Stops fetching, lets active jobs end within `drainTimeoutMs`, gives back the others. Every
   * wait is bounded: a fetch stuck on a saturated pool or a handler that ignores its signal
   * cannot hold the shutdown (a job not given back returns through its stall timeout).
   */
  async stop(): Promise<void> {
    this.stopping.abort();
    for (const wake of this.wakers.values()) wake();
    const draining = Promise.all([...this.active.values()].map((job) => job.done));
    await settledWithin(Promise.all([...this.loops, draining]), this.options.drainTimeoutMs);
    clearInterval(this.heartbeat);
    const left = [...this.active.keys()];
    if (left.length === 0) return;
    for (const job of this.active.values()) job.controller.abort(new JobInterruptedError());
    await settledWithin(draining, INTERRUPTED_JOBS_GRACE_MS);
    await settledWithin(this.repository.giveBack(left), INTERRUPTED_JOBS_GRACE_MS);
    this.logger.warn(`shutdown: ${left.length} active jobs went back to the queue`);
  }

  private running(type: string): number {
    let count = 0;
    for (const job of this.active.values()) if (job.type === type) count++;
    return count;
  }

  private async loop(
    { type, options }: JobHandlerMetadata,
    handler: JobHandlerInstance<object, unknown>,
  ): Promise<void> {
    const { signal } = this.stopping;
    while (!signal.aborted) {
      const free = options.concurrency - this.running(type);
      if (free === 0) {
        await new Promise<void>((resolve) => this.wakers.set(type, resolve));
        continue;
      }
      let jobs: PgBoss.JobWithMetadata<object>[];
      try {
        jobs = await this.boss.fetch<object>(type, { batchSize: free, includeMetadata: true });
      } catch (error) {
        this.logger.error(`fetching '${type}' jobs failed: ${(error as Error).message}`);
        jobs = [];
      }
      if (signal.aborted) {
        if (jobs.length > 0) await this.repository.giveBack(jobs.map((job) => job.id));
        return;
      }
      if (jobs.length === 0) {
        await sleep(this.options.pollIntervalMs, undefined, { signal }).catch(() => undefined);
        continue;
      }
      for (const job of jobs) this.run(type, job, handler);
    }
  }

  private run(
    type: string,
    job: PgBoss.JobWithMetadata<object>,
    handler: JobHandlerInstance<object, unknown>,
  ): void {
    const controller = new AbortController();
    const entry: ActiveJob = { type, controller, done: Promise.resolve() };
    this.active.set(job.id, entry);
    entry.done = this.attempt(type, job, handler, controller.signal).finally(() => {
      this.active.delete(job.id);
      this.wakers.get(type)?.();
    });
  }

  private async attempt(
    type: string,
    job: PgBoss.JobWithMetadata<object>,
    handler: JobHandlerInstance<object, unknown>,
    signal: AbortSignal,
  ): Promise<void> {
    const { requestId, traceparent } = await this.repository
      .origin(job.id)
      .catch(() => ({ requestId: undefined, traceparent: undefined }));
    const attempt = job.retryCount + 1;
    // a trace of its own (a job outlives its request), linked to the request that enqueued it
    const link = traceparent ? linkToCarried({ traceparent }) : undefined;
    await inRootSpan(
      `job ${type}`,
      { 'job.type': type, 'job.id': job.id, 'job.attempt': attempt },
      link,
      () => this.handle(type, job, handler, signal, { requestId, attempt }),
    );
  }

  private async handle(
    type: string,
    job: PgBoss.JobWithMetadata<object>,
    handler: JobHandlerInstance<object, unknown>,
    signal: AbortSignal,
    { requestId, attempt }: { requestId?: string; attempt: number },
  ): Promise<void> {
    const endTimer = this.metrics.duration.startTimer({ type });
    const ended = (outcome: JobOutcome) => {
      endTimer();
      this.metrics.attempts.inc({ type, outcome });
    };
    const fields = { jobId: job.id, jobType: type, attempt, requestId };
    this.logger.log(fields, 'job started');
    try {
      const result = await handler.handle({
        id: job.id,
        payload: job.data,
        attempt,
        signal,
        requestId,
        reportProgress: async (done, total, manager) => {
          await this.repository.setProgress(job.id, done, total, manager);
        },
      });
      if (signal.aborted) throw signal.reason;
      await this.boss.complete(type, job.id, result as object);
      ended('completed');
      this.logger.log(fields, 'job completed');
    } catch (error) {
      if (signal.aborted && signal.reason instanceof JobInterruptedError) {
        ended('interrupted');
        return;
      }
      if (signal.aborted && signal.reason instanceof JobCancelledError) {
        ended('cancelled');
        this.logger.log(fields, 'job cancelled');
        return;
      }
      const message = error instanceof Error ? error.message : String(error);
      const final = error instanceof JobFailure || job.retryCount >= job.retryLimit;
      try {
        if (error instanceof JobFailure) await this.repository.exhaustAttempts(job.id);
        await this.boss.fail(type, job.id, { message });
        ended(final ? 'failed' : 'retried');
        this.logger.warn({ ...fields, error: message, final }, 'job failed');
      } catch (recordError) {
        // the database went away (or the app is closing): the job stays active in pg-boss,
        // and its stall timeout hands it to a worker again, so it is not lost
        const reason = recordError instanceof Error ? recordError.message : String(recordError);
        this.logger.error({ ...fields, error: message }, `job outcome not recorded: ${reason}`);
      }
    }
  }

  private async beat(): Promise<void> {
    const ids = [...this.active.keys()];
    if (ids.length === 0) return;
    try {
      const stillActive = await this.repository.heartbeat(ids, this.options.stallTimeoutMs);
      for (const id of ids) {
        if (!stillActive.has(id)) this.active.get(id)?.controller.abort(new JobCancelledError());
      }
    } catch (error) {
      this.logger.error(`job heartbeat failed: ${(error as Error).message}`);
    }
  }
}
