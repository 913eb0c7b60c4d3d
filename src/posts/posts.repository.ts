import { finished, Readable } from 'node:stream';
import { Injectable } from '@nestjs/common';
import { DatabaseService, type DedicatedPool } from '@app/database';
import QueryStream from 'pg-query-stream';
import { EntityManager } from 'typeorm';
import { PostDto } from './dto';
import { InjectExportPool } from './posts-export.pool';

const POST_COLUMNS = `p.id, p.author_id AS "authorId", p.title, p.body, p.version,
  to_json(p.created_at) #>> '{}' AS "createdAt", to_json(p.updated_at) #>> '{}' AS "updatedAt"`;

/** Rows per round trip of the export's cursor; also what the row stream buffers at most. */
const EXPORT_BATCH_ROWS = 200;
/** The comment names the query in `pg_stat_activity`. */
const EXPORT_SQL = `/* loadstar:posts-export */ SELECT ${POST_COLUMNS} FROM posts p
  WHERE ($1::integer IS NULL OR p.author_id = $1) ORDER BY p.id`;

/** Fields an author may change. */
export interface PostChanges {
  title?: string;
  body?: string;
}

/** A per-user import quota: `rows` per fixed window of `windowMs` (`IMPORT_ROW_QUOTA`). */
export interface ImportRowQuota {
  rows: number;
  windowMs: number;
}

/** Where a user stands with their import quota. */
export interface ImportQuotaState {
  /** Rows still allowed in the current window. */
  left: number;
  /** Milliseconds until the window ends and the quota is whole again. */
  resetsInMs: number;
}

/** An import batch as committed: how many of its rows the quota let in. */
export interface ImportBatchOutcome {
  inserted: number;
  resetsInMs: number;
}

/**
 * The job a batch of an async import belongs to: each row is stored with (job, row number),
 * unique, so an attempt that repeats rows an earlier one committed inserts none of them twice.
 */
export interface ImportBatchOrigin {
  jobId: string;
  /** Valid rows of the file before this batch. */
  rowsBefore: number;
  /** Work that commits with the batch (the job's progress). */
  alsoCommit(manager: EntityManager): Promise<void>;
}

/** `$2` is the quota window in milliseconds; a window that started before this is over. */
const QUOTA_WINDOW_OPEN = `q.window_started_at > now() - $2::bigint * interval '1 millisecond'`;
const QUOTA_RESETS_IN_MS = `GREATEST(0, ceil(extract(epoch FROM
  q.window_started_at + $2::bigint * interval '1 millisecond' - now()) * 1000))::float8`;

/** Keyset page request: newest first, older than `beforeId` when given. */
export interface PostPageQuery {
  authorId?: number;
  beforeId?: number;
  limit: number;
}

/** SQL for posts; rows come back in their served JSON form. */
@Injectable()
export class PostsRepository {
  constructor(
    private readonly database: DatabaseService,
    @InjectExportPool() private readonly exportPool: DedicatedPool,
  ) {}

  async create(authorId: number, title: string, body: string): Promise<PostDto> {
    const [row] = (await this.database.manager.query(
      `INSERT INTO posts AS p (author_id, title, body) VALUES ($1, $2, $3) RETURNING ${POST_COLUMNS}`,
      [authorId, title, body],
    )) as PostDto[];
    return row;
  }

  async findById(id: number): Promise<PostDto | undefined> {
    const [row] = (await this.database.manager.query(
      `SELECT ${POST_COLUMNS} FROM posts p WHERE p.id = $1`,
      [id],
    )) as PostDto[];
    return row;
  }

  async authorOf(id: number): Promise<number | undefined> {
    const [row] = (await this.database.manager.query(
      `SELECT author_id AS "authorId" FROM posts WHERE id = $1`,
      [id],
    )) as { authorId: number }[];
    return row?.authorId;
  }

  /** Updates the post if `authorId` wrote it; `undefined` when no such post of theirs exists. */
  async updateOwn(
    id: number,
    authorId: number,
    changes: PostChanges,
  ): Promise<PostDto | undefined> {
    const [rows] = (await this.database.manager.query(
      `UPDATE posts AS p SET title = COALESCE($3, p.title), body = COALESCE($4, p.body),
         version = p.version + 1, updated_at = now()
       WHERE p.id = $1 AND p.author_id = $2 RETURNING ${POST_COLUMNS}`,
      [id, authorId, changes.title ?? null, changes.body ?? null],
    )) as [PostDto[], number];
    return rows[0];
  }

  /** Deletes the post if `authorId` wrote it; `false` when no such post of theirs exists. */
  async deleteOwn(id: number, authorId: number): Promise<boolean> {
    const [, affected] = (await this.database.manager.query(
      `DELETE FROM posts WHERE id = $1 AND author_id = $2`,
      [id, authorId],
    )) as [unknown, number];
    return affected > 0;
  }

  /** `authorId`'s import quota as it stands, without counting anything. */
  async importQuotaState(authorId: number, quota: ImportRowQuota): Promise<ImportQuotaState> {
    const [row] = (await this.database.manager.query(
      `SELECT CASE WHEN ${QUOTA_WINDOW_OPEN} THEN q.rows ELSE 0 END AS used,
         ${QUOTA_RESETS_IN_MS} AS "resetsInMs"
       FROM post_import_quotas q WHERE q.user_id = $1`,
      [authorId, quota.windowMs],
    )) as { used: number; resetsInMs: number }[];
    if (row === undefined || row.used === 0) return { left: quota.rows, resetsInMs: 0 };
    return { left: Math.max(0, quota.rows - row.used), resetsInMs: row.resetsInMs };
  }

  /**
   * Inserts a batch of an import (a JSON array of `[title, body]`) in file order, as far as
   * `authorId`'s quota allows: the first rows up to what is left of it, counted against it in
   * the same transaction. Either the rows and their count are committed, or neither. The
   * user's quota row stays locked until then, so concurrent imports (any process, any
   * instance) take turns and never pass the quota together.
   */
  insertBatchWithinQuota(
    authorId: number,
    rowsJson: string,
    rows: number,
    quota: ImportRowQuota,
    origin?: ImportBatchOrigin,
  ): Promise<ImportBatchOutcome> {
    return this.database.transaction(async (manager) => {
      // starts a new window when the last one is over, and locks the row until commit
      const [state] = (await manager.query(
        `INSERT INTO post_import_quotas AS q (user_id, window_started_at, rows) VALUES ($1, now(), 0)
         ON CONFLICT (user_id) DO UPDATE SET
           window_started_at = CASE WHEN ${QUOTA_WINDOW_OPEN} THEN q.window_started_at ELSE now() END,
           rows = CASE WHEN ${QUOTA_WINDOW_OPEN} THEN q.rows ELSE 0 END
         RETURNING q.rows AS used, ${QUOTA_RESETS_IN_MS} AS "resetsInMs"`,
        [authorId, quota.windowMs],
      )) as { used: number; resetsInMs: number }[];
      const inserted = Math.max(0, Math.min(rows, quota.rows - state.used));
      if (inserted > 0) {
        await manager.query(
          `WITH inserted AS (
             INSERT INTO posts (author_id, title, body, import_job_id, import_row)
             SELECT $1, r.value ->> 0, r.value ->> 1, $4::uuid, $5::integer + r.n::integer
             FROM json_array_elements($2::json) WITH ORDINALITY AS r (value, n)
             WHERE r.n <= $3 ORDER BY r.n
             ON CONFLICT (import_job_id, import_row) WHERE import_job_id IS NOT NULL DO NOTHING
             RETURNING 1)
           UPDATE post_import_quotas SET rows = rows + (SELECT count(*) FROM inserted)
           WHERE user_id = $1`,
          [authorId, rowsJson, inserted, origin?.jobId ?? null, origin?.rowsBefore ?? null],
        );
      }
      await origin?.alsoCommit(manager);
      return { inserted, resetsInMs: state.resetsInMs };
    });
  }

  /** Keeps an async import's CSV body until its job has finished with it. */
  storeUpload(jobId: string, body: Buffer, manager: EntityManager): Promise<unknown> {
    return manager.query(`INSERT INTO import_uploads (job_id, body) VALUES ($1, $2)`, [
      jobId,
      body,
    ]);
  }

  async upload(jobId: string): Promise<Buffer | undefined> {
    const [row] = (await this.database.manager.query(
      `SELECT body FROM import_uploads WHERE job_id = $1`,
      [jobId],
    )) as { body: Buffer }[];
    return row?.body;
  }

  /** Job ids of the stored bodies, at most `limit`. */
  async uploadJobIds(limit: number): Promise<string[]> {
    const rows = (await this.database.manager.query(
      `SELECT job_id AS "jobId" FROM import_uploads LIMIT $1`,
      [limit],
    )) as { jobId: string }[];
    return rows.map((row) => row.jobId);
  }

  deleteUploads(jobIds: string[]): Promise<unknown> {
    return this.database.manager.query(
      `DELETE FROM import_uploads WHERE job_id = ANY($1::uuid[])`,
      [jobIds],
    );
  }

  /** Valid rows of an async import that earlier attempts committed (rows are numbered from 1). */
  async importedRows(jobId: string): Promise<number> {
    const [row] = (await this.database.manager.query(
      `SELECT coalesce(max(import_row), 0)::integer AS rows FROM posts WHERE import_job_id = $1`,
      [jobId],
    )) as { rows: number }[];
    return row.rows;
  }

  /**
   * Every post (of `authorId` when given), oldest first, as an object stream fed by a
   * server-side cursor ({@link EXPORT_BATCH_ROWS} rows per round trip, read only as fast as the
   * stream is consumed) on a connection of the export pool (a replica's when there is one);
   * `undefined` when all of them are in use. Destroying the stream closes the cursor; the connection goes back to the export pool
   * once the stream has ended, failed or closed.
   */
  async streamAll(authorId: number | undefined): Promise<Readable | undefined> {
    const connecting = this.exportPool.tryConnect();
    if (connecting === undefined) return undefined;
    const client = await connecting;
    const rows = new QueryStream(EXPORT_SQL, [authorId ?? null], { batchSize: EXPORT_BATCH_ROWS });
    finished(rows, () => client.release());
    client.query(rows);
    return rows;
  }

  /** Newest first; fetches one extra row to know whether another page exists. */
  page(query: PostPageQuery, manager: EntityManager = this.database.manager): Promise<PostDto[]> {
    return manager.query(
      `SELECT ${POST_COLUMNS} FROM posts p
       WHERE ($1::integer IS NULL OR p.author_id = $1) AND ($2::integer IS NULL OR p.id < $2)
       ORDER BY p.id DESC LIMIT $3`,
      [query.authorId ?? null, query.beforeId ?? null, query.limit],
    ) as Promise<PostDto[]>;
  }
}
