import type { Client } from 'pg';
import { LoadResult } from './load';

/** A post the API acknowledged (`201`), as the client saw it. */
export interface AcknowledgedPost {
  id: number;
  title: string;
}

/** The posts a load created and the API acknowledged. */
export function acknowledgedPosts(results: readonly LoadResult[]): AcknowledgedPost[] {
  return results
    .filter((r) => r.request.method === 'POST' && r.request.path === '/api/posts')
    .filter((r) => r.status === 201)
    .map((r) => JSON.parse(r.text) as AcknowledgedPost);
}

/**
 * Acknowledged posts that are not in the database with the title the client sent: read
 * straight from PostgreSQL, past every cache, one row per acknowledgement.
 */
export async function missingPosts(
  db: Client,
  posts: readonly AcknowledgedPost[],
): Promise<AcknowledgedPost[]> {
  const { rows } = await db.query<{ id: number; title: string }>(
    'SELECT id, title FROM posts WHERE id = ANY($1::integer[])',
    [posts.map((post) => post.id)],
  );
  const stored = new Map(rows.map((row) => [row.id, row.title]));
  return posts.filter((post) => stored.get(post.id) !== post.title);
}

/** JSON request parts for a write of the load. */
export function jsonRequest(token: string, body: unknown) {
  return {
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  };
}
