import { randomUUID } from 'node:crypto';
import {
  Inject,
  Injectable,
  Logger,
  OnApplicationBootstrap,
  OnApplicationShutdown,
} from '@nestjs/common';
import { DiscoveryService } from '@nestjs/core';
import PgBoss from 'pg-boss';
import type { Pool } from 'pg';
import { EntityManager } from 'typeorm';
import { InjectMetric } from '@app/metrics';
import type { Counter, Histogram } from 'prom-client';
import { currentRequestId } from '@app/logging';
import { traceCarrier } from '@app/tracing';
import {
  JOB_DURATION_METRIC,
  JOB_HANDLER_METADATA,
  JOBS_SCHEMA,
  JOBS_TOTAL_METRIC,
  QUEUE_DEPTH_TIMEOUT_MS,
} from './jobs.constants';
import { JobHandlerMetadata } from './jobs.decorators';
import { readQueueDepthsWith } from './jobs.metrics';
import { JobRunner, JobRunnerMetrics } from './jobs.runner';
import { JOBS_MODULE_OPTIONS } from './jobs.module-definition';
import { JobsRepository } from './jobs.repository';
import {
  EnqueueOptions,
  JobHandlerInstance,
  JobState,
  JobsModuleOptions,
  JobType,
  JobView,
} from './interfaces';

/** The first and the longest wait between attempts to start while the database is unavailable. */
const START_RETRY_MIN_MS = 1_000;
const START_RETRY_MAX_MS = 30_000;
/** How long pg-boss's stop may take at shutdown (its minimum is 1 s). */
const BOSS_STOP_TIMEOUT_MS = 2_000;

interface DiscoveredHandler {
  metadata: JobHandlerMetadata;
  handler: JobHandlerInstance<object, unknown>;
}

/** pg-boss's SQL run on a connection of the caller's transaction. */
function onTransaction(manager: EntityManager): PgBoss.Db {
  return {
    executeSql: async (text, values) => {
      const result = (await manager.queryRunner!.query(text, values, true)) as {
        records: unknown[];
      };
      return { rows: result.records };
    },
  };
}

/**
 * Durable jobs on pg-boss, in the application's own PostgreSQL: enqueue (in the caller's
 * transaction when given one), read, list and cancel; in a process that works, it also runs
 * the handlers found through `@JobHandler`.
 */
@Injectable()
export class JobsService implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger(JobsService.name);
  private boss: PgBoss;
  private readonly pool: Pool;
  private startRetry: NodeJS.Timeout | undefined;
  private shuttingDown = false;
  private readonly handlers = new Map<string, JobHandlerMetadata>();
  private runner: JobRunner | undefined;
  private readonly options: Required<JobsModuleOptions>;
  private readonly metrics: JobRunnerMetrics;
  private stopReadingQueueDepths: (() => void) | undefined;

  constructor(
    private readonly discovery: DiscoveryService,
    private readonly repository: JobsRepository,
    @Inject(JOBS_MODULE_OPTIONS) options: JobsModuleOptions,
    @InjectMetric(JOBS_TOTAL_METRIC) attempts: Counter<'type' | 'outcome'>,
    @InjectMetric(JOB_DURATION_METRIC) duration: Histogram<'type'>,
  ) {
    this.metrics = { attempts, duration };
    this.options = {
      work: options.work ?? true,
      pollIntervalMs: options.pollIntervalMs ?? 1_000,
      stallTimeoutMs: options.stallTimeoutMs ?? 30_000,
      drainTimeoutMs: options.drainTimeoutMs ?? 10_000,
    };
    this.pool = repository.pool;
    this.boss = this.createBoss();
  }

  private createBoss(): PgBoss {
    const boss = new PgBoss({
      db: { executeSql: (text, values) => this.pool.query(text, values) },
      schema: JOBS_SCHEMA,
      // the schema comes from a migration (see docs/workers.md), never from a start
      migrate: false,
      schedule: false,
      supervise: this.options.work,
      maintenanceIntervalSeconds: Math.max(1, Math.ceil(this.options.stallTimeoutMs / 2_000)),
    });
    boss.on('error', (error) => this.logger.error(error));
    return boss;
  }

  async onApplicationBootstrap(): Promise<void> {
    const instances: DiscoveredHandler[] = [];
    for (const wrapper of this.discovery.getProviders()) {
      const { instance, metatype } = wrapper;
      if (!instance || !metatype) continue;
      const metadata = Reflect.getMetadata(JOB_HANDLER_METADATA, metatype) as
        JobHandlerMetadata | undefined;
      if (!metadata) continue;
      if (this.handlers.has(metadata.type)) {
        throw new Error(`two @JobHandler classes for the job type '${metadata.type}'`);
      }
      this.handlers.set(metadata.type, metadata);
      instances.push({ metadata, handler: instance as JobHandlerInstance<object, unknown> });
    }
    this.stopReadingQueueDepths = readQueueDepthsWith(() =>
      this.repository.queueDepths(QUEUE_DEPTH_TIMEOUT_MS).catch((error: Error) => {
        this.logger.warn(`queue gauges left empty in this scrape: ${error.message}`);
        throw error;
      }),
    );
    await this.startOrRetry(instances, START_RETRY_MIN_MS);
  }

  /**
   * Starts pg-boss and the handlers. A database that is down or not migrated yet must not stop
   * the process (the API still serves what it can, readiness says why): the start is retried
   * with a growing delay until it succeeds. pg-boss cannot start twice after a failed start,
   * so each attempt uses a fresh instance.
   */
  private async startOrRetry(instances: DiscoveredHandler[], delayMs: number): Promise<void> {
    try {
      await this.boss.start();
      await this.startHandlers(instances);
    } catch (error) {
      if (this.shuttingDown) return;
      const reason = error instanceof Error ? error.message : String(error);
      this.logger.error(`jobs not started (${reason}); retrying in ${delayMs} ms`);
      const failed = this.boss;
      void failed.stop({ graceful: false, close: false }).catch(() => undefined);
      this.boss = this.createBoss();
      const next = Math.min(delayMs * 2, START_RETRY_MAX_MS);
      this.startRetry = setTimeout(() => void this.startOrRetry(instances, next), delayMs);
      this.startRetry.unref();
    }
  }

  private async startHandlers(instances: DiscoveredHandler[]): Promise<void> {
    const expireInSeconds = Math.ceil(this.options.stallTimeoutMs / 1_000);
    for (const { type, options } of this.handlers.values()) {
      const queue: PgBoss.Queue = {
        name: type,
        retryLimit: options.maxAttempts - 1,
        retryDelay: options.retryDelaySeconds,
        retryBackoff: true,
        expireInSeconds,
      };
      await this.boss.createQueue(type, queue);
      await this.boss.updateQueue(type, queue);
    }
    if (this.options.work) {
      this.runner = new JobRunner(this.boss, this.repository, this.options, this.metrics);
      for (const { metadata, handler } of instances) this.runner.start(metadata, handler);
    }
  }

  async onApplicationShutdown(): Promise<void> {
    this.shuttingDown = true;
    this.stopReadingQueueDepths?.();
    clearTimeout(this.startRetry);
    await this.runner?.stop();
    // pg-boss's own stop waits for its maintenance queries; bounded, as the runner's waits are
    await this.boss.stop({
      graceful: false,
      close: false,
      wait: true,
      timeout: BOSS_STOP_TIMEOUT_MS,
    });
  }

  /**
   * Enqueues a job. With `manager` (of a transaction), the job is part of that transaction:
   * a rollback enqueues nothing and a commit never loses it (the transactional outbox).
   * @returns the job's id
   */
  async enqueue<Payload extends object>(
    type: JobType<Payload, unknown>,
    payload: Payload,
    options: EnqueueOptions = {},
    manager?: EntityManager,
  ): Promise<string> {
    if (!this.handlers.has(type.name)) throw new Error(`no @JobHandler for '${type.name}'`);
    if (!manager || !manager.queryRunner?.isTransactionActive) {
      return this.repository.transaction((inner) => this.enqueue(type, payload, options, inner));
    }
    const id = options.id ?? randomUUID();
    await this.repository.insertRecord(manager, {
      requestId: currentRequestId(),
      traceparent: traceCarrier()?.traceparent,
      ...options,
      id,
      type: type.name,
    });
    await this.boss.send(type.name, payload, { id, db: onTransaction(manager) });
    return id;
  }

  /** Whether this process runs job handlers (`work`), rather than only enqueueing. */
  get works(): boolean {
    return this.options.work;
  }

  /**
   * Those of `ids` whose job has ended for good (completed, failed, cancelled), so that data
   * kept for them can go; a job waiting for a retry has not.
   */
  ended(ids: string[]): Promise<string[]> {
    return this.repository.ended(ids);
  }

  /**
   * The job, or `undefined` when there is none with that id that belongs to `ownerId`; with
   * `manager`, as that transaction sees it (a job it enqueued, before any worker took it).
   */
  find(id: string, ownerId: number, manager?: EntityManager): Promise<JobView | undefined> {
    return this.repository.find(id, ownerId, manager);
  }

  /** The owner's jobs, newest first, after the job `before` (keyset pagination). */
  page(
    ownerId: number,
    query: { state?: JobState; before?: string; limit: number },
  ): Promise<JobView[]> {
    return this.repository.page(ownerId, query);
  }

  /**
   * Cancels a queued or active job (an active one's handler sees its signal abort within a
   * heartbeat); a job that has ended stays as it is.
   */
  async cancel(job: { id: string; type: string }): Promise<void> {
    await this.boss.cancel(job.type, job.id);
  }
}
