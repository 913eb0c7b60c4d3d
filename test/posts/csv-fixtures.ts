import { createHash } from 'node:crypto';
import { stringify } from 'csv-stringify/sync';
import type { DataSource } from 'typeorm';
import type { ApiClient, ApiResponse } from '../utils/api-client';

export type PostRow = [title: string, body: string];

const TITLE_PARTS = ['plain', 'with, comma', 'say "hi"', 'ünïcødé', '🚀 rocket', '  spaced  '];
const BODY_PARTS = ['text', 'line one\nline two', 'crlf\r\nbreak', 'a,b,"c"', 'é'.repeat(50), ''];

/** `count` deterministic rows mixing everything CSV has to quote; every title is valid. */
export function trickyRows(count: number, tag = ''): PostRow[] {
  return Array.from({ length: count }, (_, i) => [
    `${tag}${TITLE_PARTS[i % TITLE_PARTS.length]} ${i}`,
    `${BODY_PARTS[i % BODY_PARTS.length]} #${i}`,
  ]);
}

/** A CSV file with the `title,body` header (CRLF line ends unless `lineEnd` says otherwise). */
export function toCsv(rows: readonly PostRow[], lineEnd = '\r\n'): string {
  return stringify([['title', 'body'], ...rows], {
    record_delimiter: lineEnd,
    quoted_match: /[\r\n]/,
  });
}

export function importCsv(
  api: ApiClient,
  token: string,
  body: string | Buffer,
  contentType = 'text/csv',
): Promise<ApiResponse> {
  return api.request('POST', '/api/posts/import', {
    rawBody: body,
    token,
    headers: { 'content-type': contentType },
  });
}

const FIELD = '\x1f';
const RECORD = '\x1e';

/** Digest of rows in order, comparable with the `digest` of {@link storedPosts}. */
export function rowsDigest(rows: readonly PostRow[]): string {
  return createHash('md5')
    .update(rows.map(([title, body]) => `${title}${FIELD}${body}`).join(RECORD))
    .digest('hex');
}

/** Count and digest of an author's posts as stored, in id order. */
export async function storedPosts(
  dataSource: DataSource,
  authorId: number,
): Promise<{ count: number; digest: string | null }> {
  const [row] = (await dataSource.query(
    `SELECT count(*)::int AS count,
       md5(string_agg(title || chr(31) || body, chr(30) ORDER BY id)) AS digest
     FROM posts WHERE author_id = $1`,
    [authorId],
  )) as { count: number; digest: string | null }[];
  return row;
}
