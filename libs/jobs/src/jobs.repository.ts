import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import type { Pool } from 'pg';
import { DataSource, EntityManager } from 'typeorm';
import { JOBS_SCHEMA } from './jobs.constants';
import { QueueDepth } from './jobs.metrics';
import { JobState, JobView } from './interfaces';

/** pg-boss's states as the API names them. */
const STATE_NAMES: Record<string, JobState> = {
  created: 'queued',
  retry: 'queued',
  active: 'active',
  completed: 'completed',
  failed: 'failed',
  cancelled: 'cancelled',
};
const PG_BOSS_STATES: Record<JobState, string[]> = {
  queued: ['created', 'retry'],
  active: ['active'],
  completed: ['completed'],
  failed: ['failed'],
  cancelled: ['cancelled'],
};

/** `job_records` (owner, request id, progress) joined with pg-boss's row of the same job. */
const JOB_SELECT = `
  SELECT r.id, r.type, r.progress_done AS "progressDone",
    r.progress_total AS "progressTotal", r.created_at AS "createdAt",
    j.state, j.retry_count AS "retryCount", j.started_on AS "startedOn",
    j.completed_on AS "completedOn", j.output
  FROM job_records r
  JOIN LATERAL (
    SELECT state::text, retry_count, started_on, completed_on, output
      FROM ${JOBS_SCHEMA}.job WHERE name = r.type AND id = r.id
    UNION ALL
    SELECT state::text, retry_count, started_on, completed_on, output
      FROM ${JOBS_SCHEMA}.archive WHERE name = r.type AND id = r.id
    LIMIT 1) j ON true`;

interface JobRow {
  id: string;
  type: string;
  progressDone: number;
  progressTotal: number | null;
  createdAt: Date;
  state: string;
  retryCount: number;
  startedOn: Date | null;
  completedOn: Date | null;
  output: Record<string, unknown> | null;
}

function toView(row: JobRow): JobView {
  const state = STATE_NAMES[row.state];
  const failedBefore = row.state === 'failed' || row.state === 'retry';
  const message = row.output?.message;
  return {
    id: row.id,
    type: row.type,
    state,
    progress: { done: row.progressDone, total: row.progressTotal },
    attempts: row.startedOn === null ? 0 : row.retryCount + 1,
    result: state === 'completed' ? (row.output ?? null) : null,
    error: failedBefore && typeof message === 'string' ? message : null,
    createdAt: row.createdAt,
    startedAt: row.startedOn,
    finishedAt: state === 'queued' || state === 'active' ? null : row.completedOn,
  };
}

/** loadstar's side of each job, beside pg-boss's own tables. */
@Injectable()
export class JobsRepository {
  /** The primary's pg pool, which pg-boss shares with the requests. */
  readonly pool: Pool;

  constructor(@InjectDataSource() private readonly dataSource: DataSource) {
    this.pool = (dataSource.driver as unknown as { master: Pool }).master;
  }

  transaction<T>(work: (manager: EntityManager) => Promise<T>): Promise<T> {
    return this.dataSource.transaction(work);
  }

  insertRecord(
    manager: EntityManager,
    record: {
      id: string;
      type: string;
      ownerId?: number;
      requestId?: string;
      traceparent?: string;
    },
  ): Promise<unknown> {
    return manager.query(
      `INSERT INTO job_records (id, type, owner_id, request_id, traceparent)
       VALUES ($1, $2, $3, $4, $5)`,
      [
        record.id,
        record.type,
        record.ownerId ?? null,
        record.requestId ?? null,
        record.traceparent ?? null,
      ],
    );
  }

  /** The job if it belongs to `ownerId`; with `manager`, as that transaction sees it. */
  async find(id: string, ownerId: number, manager?: EntityManager): Promise<JobView | undefined> {
    const rows = (await (manager ?? this.dataSource).query(
      `${JOB_SELECT} WHERE r.id = $1 AND r.owner_id = $2`,
      [id, ownerId],
    )) as JobRow[];
    return rows[0] && toView(rows[0]);
  }

  /**
   * The request that enqueued a job: its id, for the handler's logs, and its trace context,
   * which the job's span links to.
   */
  async origin(id: string): Promise<{ requestId?: string; traceparent?: string }> {
    const rows = (await this.dataSource.query(
      `SELECT request_id AS "requestId", traceparent FROM job_records WHERE id = $1`,
      [id],
    )) as { requestId: string | null; traceparent: string | null }[];
    return {
      requestId: rows[0]?.requestId ?? undefined,
      traceparent: rows[0]?.traceparent ?? undefined,
    };
  }

  /** Newest first; `limit + 1` rows so the caller knows whether another page exists. */
  async page(
    ownerId: number,
    query: { state?: JobState; before?: string; limit: number },
  ): Promise<JobView[]> {
    const rows = (await this.dataSource.query(
      `${JOB_SELECT}
       WHERE r.owner_id = $1
         AND ($2::text[] IS NULL OR j.state = ANY($2::text[]))
         AND ($3::uuid IS NULL OR (r.created_at, r.id) <
           (SELECT created_at, id FROM job_records WHERE id = $3 AND owner_id = $1))
       ORDER BY r.created_at DESC, r.id DESC LIMIT $4`,
      [
        ownerId,
        query.state ? PG_BOSS_STATES[query.state] : null,
        query.before ?? null,
        query.limit + 1,
      ],
    )) as JobRow[];
    return rows.map(toView);
  }

  setProgress(
    id: string,
    done: number,
    total: number | null,
    manager: EntityManager = this.dataSource.manager,
  ): Promise<unknown> {
    return manager.query(
      `UPDATE job_records SET progress_done = $2, progress_total = $3 WHERE id = $1`,
      [id, done, total],
    );
  }

  /**
   * Pushes the stall deadline of this process's active jobs forward; answers which of them
   * are still active (the others were cancelled, or taken back after a stall).
   */
  async heartbeat(ids: string[], stallTimeoutMs: number): Promise<Set<string>> {
    const rows = (await this.dataSource.query(
      `UPDATE ${JOBS_SCHEMA}.job SET expire_in = (now() - started_on) + $2 * interval '1 millisecond'
       WHERE id = ANY($1::uuid[]) AND state = 'active' RETURNING id`,
      [ids, stallTimeoutMs],
    )) as [{ id: string }[], number];
    return new Set(rows[0].map((row) => row.id));
  }

  /** Back to the queue at once, without using up an attempt (the fetch counts one again). */
  giveBack(ids: string[]): Promise<unknown> {
    return this.dataSource.query(
      `UPDATE ${JOBS_SCHEMA}.job SET state = 'retry', start_after = now(),
         retry_count = retry_count - 1
       WHERE id = ANY($1::uuid[]) AND state = 'active'`,
      [ids],
    );
  }

  /**
   * Per queue, one grouped query on pg-boss's index of waiting jobs: how many wait (new or
   * waiting for a retry) and how long the longest-waiting runnable one has waited since its
   * start time (a retry's starts after its backoff). Bounded by `timeoutMs` as a whole, the
   * wait for a connection included. Not read while every connection of the pool is taken:
   * a scrape must not queue behind requests, nor take a connection they are waiting for.
   */
  async queueDepths(timeoutMs: number): Promise<QueueDepth[]> {
    const { pool } = this;
    if (pool.idleCount === 0 && (pool.waitingCount > 0 || pool.totalCount >= pool.options.max)) {
      throw new Error('every connection of the pool is in use');
    }
    const read = this.dataSource.transaction(async (manager) => {
      await manager.query(`SET LOCAL statement_timeout = ${Math.ceil(timeoutMs)}`);
      return (await manager.query(
        `SELECT q.name AS type, count(j.id)::int AS queued,
           COALESCE(EXTRACT(EPOCH FROM now() - min(j.start_after) FILTER (
             WHERE j.start_after <= now())), 0)::float8 AS "oldestAgeSeconds"
         FROM ${JOBS_SCHEMA}.queue q
         LEFT JOIN ${JOBS_SCHEMA}.job j ON j.name = q.name AND j.state < 'active'
         GROUP BY q.name`,
      )) as QueueDepth[];
    });
    let timer: NodeJS.Timeout | undefined;
    const expired = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new Error(`queue depths not read within ${timeoutMs} ms`)),
        timeoutMs,
      );
    });
    try {
      return await Promise.race([read, expired]);
    } finally {
      clearTimeout(timer);
      read.catch(() => undefined);
    }
  }

  /** Those of `ids` whose job has ended (completed, failed, cancelled) or is gone. */
  async ended(ids: string[]): Promise<string[]> {
    const rows = (await this.dataSource.query(
      `SELECT r.id FROM job_records r
       WHERE r.id = ANY($1::uuid[]) AND NOT EXISTS (
         SELECT 1 FROM ${JOBS_SCHEMA}.job j
         WHERE j.name = r.type AND j.id = r.id AND j.state < 'completed')`,
      [ids],
    )) as { id: string }[];
    return rows.map((row) => row.id);
  }

  /** No attempts left: the next `fail` makes the job `failed` instead of retrying it. */
  exhaustAttempts(id: string): Promise<unknown> {
    return this.dataSource.query(
      `UPDATE ${JOBS_SCHEMA}.job SET retry_limit = retry_count WHERE id = $1 AND state = 'active'`,
      [id],
    );
  }
}
