import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DatabaseService } from '@app/database';
import { DataSource } from 'typeorm';

/** A response as stored under a key and served again on a repeat. */
export interface StoredResponse {
  status: number;
  headers: Record<string, string>;
  body: unknown;
}

/** A key as another request left it. */
export interface KeyRecord {
  /** Hash of the first request; `null` while its streamed body is still being read. */
  fingerprint: string | null;
  /** `null` while the first request runs. */
  response: StoredResponse | null;
}

interface KeyRow {
  fingerprint: string | null;
  status: number | null;
  headers: Record<string, string> | null;
  body: unknown;
}

const MS = `interval '1 millisecond'`;

/**
 * The `idempotency_keys` table (created by the app's migrations). PostgreSQL rather than
 * Redis: it is there in every mode (the embedded server included), a stored response survives
 * any restart, and every instance sees the same rows.
 */
@Injectable()
export class IdempotencyRepository {
  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly database: DatabaseService,
  ) {}

  /**
   * Takes `key` for the request identified by `token`: inserts it, or takes over a row whose
   * time is up (expired, or a claim whose holder stopped renewing it). One statement, so of
   * concurrent duplicates exactly one wins. Returns whether this request holds the key.
   */
  async claim(
    scope: string,
    key: string,
    fingerprint: string | null,
    token: string,
    lockMs: number,
    ttlMs: number,
  ): Promise<boolean> {
    const rows: unknown[] = await this.dataSource.query(
      `INSERT INTO idempotency_keys AS k (scope, key, fingerprint, token, locked_until, expires_at)
       VALUES ($1, $2, $3, $4, now() + $5::bigint * ${MS}, now() + $6::bigint * ${MS})
       ON CONFLICT (scope, key) DO UPDATE SET fingerprint = EXCLUDED.fingerprint,
         token = EXCLUDED.token, status = NULL, headers = NULL, body = NULL,
         locked_until = EXCLUDED.locked_until, expires_at = EXCLUDED.expires_at
       WHERE k.expires_at < now() OR (k.status IS NULL AND k.locked_until < now())
       RETURNING 1`,
      [scope, key, fingerprint, token, lockMs, ttlMs],
    );
    return rows.length === 1;
  }

  /** The key as stored, or `undefined` when it is gone (released or expired). */
  async find(scope: string, key: string): Promise<KeyRecord | undefined> {
    const [row] = (await this.dataSource.query(
      `SELECT fingerprint, status, headers, body FROM idempotency_keys
       WHERE scope = $1 AND key = $2 AND expires_at > now()`,
      [scope, key],
    )) as KeyRow[];
    if (!row) return undefined;
    return {
      fingerprint: row.fingerprint,
      response:
        row.status === null
          ? null
          : { status: row.status, headers: row.headers ?? {}, body: row.body },
    };
  }

  /**
   * Stores the response of the request holding the key, in the caller's transaction when one
   * is open (`DatabaseService.inTransaction`). Returns whether it still held the key.
   */
  async complete(
    scope: string,
    key: string,
    token: string,
    fingerprint: string,
    response: StoredResponse,
  ): Promise<boolean> {
    const [, stored] = (await this.database.manager.query(
      `UPDATE idempotency_keys SET fingerprint = $4, status = $5, headers = $6, body = $7
       WHERE scope = $1 AND key = $2 AND token = $3`,
      [
        scope,
        key,
        token,
        fingerprint,
        response.status,
        JSON.stringify(response.headers),
        JSON.stringify(response.body ?? null),
      ],
    )) as [unknown, number];
    return stored === 1;
  }

  /**
   * Frees the key after a request that stored nothing, so the client may send it again. A
   * stored response stays: it was committed with the write it answers.
   */
  async release(scope: string, key: string, token: string): Promise<void> {
    await this.dataSource.query(
      `DELETE FROM idempotency_keys
       WHERE scope = $1 AND key = $2 AND token = $3 AND status IS NULL`,
      [scope, key, token],
    );
  }

  /** Deletes expired keys; returns how many. */
  async purgeExpired(): Promise<number> {
    const [, count] = (await this.dataSource.query(
      `DELETE FROM idempotency_keys WHERE expires_at < now()`,
    )) as [unknown, number];
    return count;
  }
}
