import { finished, Readable } from 'node:stream';
import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import type { DedicatedPool } from '@app/database';
import QueryStream from 'pg-query-stream';
import { DataSource, EntityManager } from 'typeorm';
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
    @InjectDataSource() private readonly dataSource: DataSource,
    @InjectExportPool() private readonly exportPool: DedicatedPool,
  ) {}

  async create(authorId: number, title: string, body: string): Promise<PostDto> {
    const [row] = (await this.dataSource.query(
      `INSERT INTO posts AS p (author_id, title, body) VALUES ($1, $2, $3) RETURNING ${POST_COLUMNS}`,
      [authorId, title, body],
    )) as PostDto[];
    return row;
  }

  async findById(id: number): Promise<PostDto | undefined> {
    const [row] = (await this.dataSource.query(
      `SELECT ${POST_COLUMNS} FROM posts p WHERE p.id = $1`,
      [id],
    )) as PostDto[];
    return row;
  }

  async authorOf(id: number): Promise<number | undefined> {
    const [row] = (await this.dataSource.query(
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
    const [rows] = (await this.dataSource.query(
      `UPDATE posts AS p SET title = COALESCE($3, p.title), body = COALESCE($4, p.body),
         version = p.version + 1, updated_at = now()
       WHERE p.id = $1 AND p.author_id = $2 RETURNING ${POST_COLUMNS}`,
      [id, authorId, changes.title ?? null, changes.body ?? null],
    )) as [PostDto[], number];
    return rows[0];
  }

  /** Deletes the post if `authorId` wrote it; `false` when no such post of theirs exists. */
  async deleteOwn(id: number, authorId: number): Promise<boolean> {
    const [, affected] = (await this.dataSource.query(
      `DELETE FROM posts WHERE id = $1 AND author_id = $2`,
      [id, authorId],
    )) as [unknown, number];
    return affected > 0;
  }

  /**
   * Inserts a batch of an import (a JSON array of `[title, body]`) in file order. One
   * statement, so one transaction: a batch that fails leaves none of its rows behind.
   */
  async insertBatch(authorId: number, rowsJson: string): Promise<void> {
    await this.dataSource.query(
      `INSERT INTO posts (author_id, title, body)
       SELECT $1, r.value ->> 0, r.value ->> 1
       FROM json_array_elements($2::json) WITH ORDINALITY AS r (value, n) ORDER BY r.n`,
      [authorId, rowsJson],
    );
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
  page(query: PostPageQuery, manager: EntityManager = this.dataSource.manager): Promise<PostDto[]> {
    return manager.query(
      `SELECT ${POST_COLUMNS} FROM posts p
       WHERE ($1::integer IS NULL OR p.author_id = $1) AND ($2::integer IS NULL OR p.id < $2)
       ORDER BY p.id DESC LIMIT $3`,
      [query.authorId ?? null, query.beforeId ?? null, query.limit],
    ) as Promise<PostDto[]>;
  }
}
