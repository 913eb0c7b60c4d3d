import { Client } from 'pg';
import { ApiClient, ApiResponse, TestUser } from '../utils/api-client';
import { sleep } from '../utils/net';

/**
 * A fill made slow by the database itself: a transaction of the test's own holds
 * `LOCK TABLE follows`, so the dashboard's three follows queries wait while its profile query
 * (on `users`) has already answered, and a write of `users` goes through meanwhile.
 */
export class HeldFollows {
  private constructor(private readonly client: Client) {}

  static async lock(): Promise<HeldFollows> {
    const client = new Client({ connectionString: process.env.DATABASE_URL });
    await client.connect();
    await client.query('BEGIN');
    // Never wait long behind another session's lock (the server database is shared).
    await client.query(`SET LOCAL lock_timeout = '5s'`);
    await client.query('LOCK TABLE follows IN ACCESS EXCLUSIVE MODE');
    return new HeldFollows(client);
  }

  /** Resolves once `count` queries wait for the lock. */
  async waitForReaders(count: number, timeoutMs = 10_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const { rows } = await this.client.query<{ waiting: number }>(
        `SELECT count(*)::int AS waiting FROM pg_locks
          WHERE NOT granted AND relation = 'follows'::regclass
            AND database = (SELECT oid FROM pg_database WHERE datname = current_database())`,
      );
      if (rows[0].waiting >= count) return;
      if (Date.now() > deadline) throw new Error(`${count} readers of follows did not come`);
      await sleep(10);
    }
  }

  /** Lets the waiting queries run. */
  async release(): Promise<void> {
    try {
      await this.client.query('COMMIT');
    } finally {
      await this.client.end();
    }
  }
}

/**
 * GETs the owner's dashboard through `reader` and, while that fill waits on the held follows
 * table (its profile already read), renames the owner to "After" through `writer`. Resolves to
 * the slow read's response.
 */
export async function readDashboardRacingRename(
  reader: ApiClient,
  writer: ApiClient,
  owner: TestUser,
): Promise<ApiResponse> {
  const follows = await HeldFollows.lock();
  let slowRead: Promise<ApiResponse>;
  try {
    slowRead = reader.get(`/api/users/${owner.id}/dashboard`);
    await follows.waitForReaders(3);
    const patch = await writer.patch(
      `/api/users/${owner.id}`,
      { name: 'After' },
      { token: owner.token },
    );
    expect(patch.status).toBe(200);
  } finally {
    await follows.release();
  }
  return slowRead;
}
