import { DataSource } from 'typeorm';
import { sleep } from '../utils/net';
import { startTestApp, TestApp } from '../utils/test-app';
import { stalledReader, StalledReader } from '../utils/stalled-reader';
import { runningExports } from './running-exports';

const MAX_CONCURRENT = 2;
const STALL_TIMEOUT_MS = 3_000;
/** Beyond the stall timeout: filling the socket buffers first, the watchdog's check interval. */
const STALL_MARGIN_MS = 7_000;
const STALLED = 5;

/**
 * Clients that ask for an export and never read it must not take the database from everyone
 * else (issue 24.1): the exports run on a pool of their own, at most EXPORT_MAX_CONCURRENT at
 * once, and one whose client stops reading is ended after EXPORT_STALL_TIMEOUT_MS.
 */
describe('GET /api/posts/export against stalled readers (e2e)', () => {
  let t: TestApp;
  /** The app's own pool: the exports must leave it free for everything else. */
  let db: DataSource;
  let bulkId: number;

  beforeAll(async () => {
    t = await startTestApp({
      SHED_EVENT_LOOP_DELAY_MS: '0',
      DB_POOL_MAX: '4',
      EXPORT_MAX_CONCURRENT: String(MAX_CONCURRENT),
      EXPORT_STALL_TIMEOUT_MS: String(STALL_TIMEOUT_MS),
    });
    db = t.app.get(DataSource);
    bulkId = (await t.api.createUser('Bulk')).id;
    // About 60 MB as NDJSON and about 30 MB gzipped (hex digits): more than every buffer
    // between the cursor and a client that does not read, compressed or not.
    await db.query(
      `INSERT INTO posts (author_id, title, body)
       SELECT $1, 'bulk ' || g, (SELECT string_agg(md5(g::text || ':' || i), '')
                                 FROM generate_series(1, 60) i)
       FROM generate_series(1, 30000) g`,
      [bulkId],
    );
  }, 120_000);
  afterAll(async () => {
    // the server run's database outlives the run; the whole-table export reads what is left
    await db?.query('DELETE FROM posts WHERE author_id = $1', [bulkId]);
    await t?.close();
  });

  it('refuses the excess with Retry-After, serves everyone else, and ends the stalled ones', async () => {
    const path = `/api/posts/export?authorId=${bulkId}`;
    const opened = performance.now();
    const readers: StalledReader[] = [
      await stalledReader(t.url, path, { 'accept-encoding': 'gzip' }),
    ];
    for (let i = 1; i < STALLED; i++) readers.push(await stalledReader(t.url, path));
    try {
      expect(readers.map((reader) => reader.status)).toEqual([
        ...Array<number>(MAX_CONCURRENT).fill(200),
        ...Array<number>(STALLED - MAX_CONCURRENT).fill(503),
      ]);
      expect(readers[0].headers['content-encoding']).toBe('gzip');
      for (const refused of readers.slice(MAX_CONCURRENT)) {
        expect(refused.headers['retry-after']).toBe('5');
        expect(refused.headers['content-type']).toMatch(/^application\/json/);
      }
      expect(await runningExports(db)).toBe(MAX_CONCURRENT);

      // While both stalled exports hold their connections: logins, reads and writes.
      const user = await t.api.createUser();
      const statuses = await Promise.all([
        t.api.post('/api/auth/login', { email: user.email, password: user.password }),
        t.api.get('/api/posts?limit=5'),
        t.api.get(`/api/users/${bulkId}/dashboard`),
        t.api.get(`/api/users?ids=${bulkId},${user.id}`),
        t.api.post('/api/posts', { title: 'while stalled', body: 'b' }, { token: user.token }),
        t.api.patch(`/api/users/${user.id}`, { bio: 'still served' }, { token: user.token }),
      ]).then((responses) => responses.map((res) => res.status));
      expect(statuses).toEqual([200, 200, 200, 200, 201, 200]);

      const ready = await t.api.get('/health/ready');
      expect(ready.status).toBe(200);
      expect(ready.body.details.databasePools).toMatchObject({
        status: 'up',
        application: { waiting: 0 },
        export: { inUse: MAX_CONCURRENT, max: MAX_CONCURRENT },
      });

      while ((await runningExports(db)) > 0) {
        expect(performance.now() - opened).toBeLessThan(STALL_TIMEOUT_MS + STALL_MARGIN_MS);
        await sleep(100);
      }
      const after = await t.api.get('/health/ready');
      expect(after.body.details.databasePools.export).toEqual({ inUse: 0, max: MAX_CONCURRENT });
      const again = await t.api.get(`/api/posts/export?authorId=${user.id}`);
      expect(again.status).toBe(200);
      expect(again.text).toContain('"title":"while stalled"');
    } finally {
      for (const reader of readers) reader.socket.destroy();
    }
  }, 60_000);

  it('keeps serving a reader that takes data in bursts within the stall timeout', async () => {
    const reader = await stalledReader(t.url, `/api/posts/export?authorId=${bulkId}`);
    expect(reader.status).toBe(200);
    let received = 0;
    reader.socket.on('data', (chunk: Buffer) => {
      received += chunk.length;
    });
    const started = performance.now();
    while (performance.now() - started < STALL_TIMEOUT_MS * 2) {
      await sleep(STALL_TIMEOUT_MS / 2);
      reader.socket.resume();
      await sleep(20);
      reader.socket.pause();
    }
    expect(reader.socket.destroyed).toBe(false);
    expect(await runningExports(db)).toBe(1);
    expect(received).toBeGreaterThan(1_000_000);
    reader.socket.destroy();
  }, 60_000);
});
