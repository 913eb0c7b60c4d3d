import { Client } from 'pg';
import { TestUser } from '../utils/api-client';
import { AppProcess, startAppProcess } from '../utils/app-process';
import { sleep } from '../utils/net';
import { PrivateRedis } from '../utils/private-redis';
import { RELAXED_RATE_LIMITS } from '../utils/rate-limits';
import { errorShapeProblem } from './support/contract';
import { LoadRequest, LoadResult, probe, runLoad, statusCounts, timeUntil } from './support/load';
import { ScenarioReport } from './support/report';
import { acknowledgedPosts, jsonRequest, missingPosts } from './support/writes';

const RATE_LIMIT_HEADER = /^(x-)?ratelimit(-limit)?$/;

const hasRateLimitHeaders = (r: LoadResult) =>
  Object.keys(r.headers).some((name) => RATE_LIMIT_HEADER.test(name));

/** The app's process and what it needs, on the suite's own Redis and the test database. */
interface Stage {
  app: AppProcess;
  writer: TestUser;
  readers: TestUser[];
  postIds: number[];
}

async function stage(redis: PrivateRedis, failOpen: boolean): Promise<Stage> {
  const app = await startAppProcess({
    ...RELAXED_RATE_LIMITS,
    REDIS_URL: redis.url,
    RATE_LIMIT_FAIL_OPEN: String(failOpen),
  });
  const [writer, ...readers] = await Promise.all(
    ['writer', 'reader 1', 'reader 2', 'reader 3'].map((name) =>
      app.api.createUser(`Redis fault ${name}`),
    ),
  );
  const postIds: number[] = [];
  for (let i = 0; i < 5; i++) {
    const post = await app.api.post(
      '/api/posts',
      { title: `seed ${i}`, body: 'b' },
      { token: writer.token },
    );
    postIds.push(post.body.id);
  }
  return { app, writer, readers, postIds };
}

/** Reads of cached routes, new posts and profile updates, in a fixed rotation. */
function mixedRequest({ writer, readers, postIds }: Stage, tag: string) {
  return (i: number): LoadRequest => {
    const reader = readers[i % readers.length];
    switch (i % 10) {
      case 0:
      case 1:
      case 2:
        return { kind: 'read', method: 'GET', path: `/api/users/${reader.id}` };
      case 3:
        return { kind: 'read', method: 'GET', path: `/api/posts/${postIds[i % postIds.length]}` };
      case 4:
        return {
          kind: 'read',
          method: 'GET',
          path: `/api/users?ids=${readers.map((r) => r.id).join(',')}`,
        };
      case 5:
      case 6:
        return {
          kind: 'write',
          method: 'POST',
          path: '/api/posts',
          ...jsonRequest(writer.token, { title: `${tag}-${i}`, body: 'written during the fault' }),
        };
      case 7:
        return {
          kind: 'write',
          method: 'PATCH',
          path: `/api/users/${writer.id}`,
          ...jsonRequest(writer.token, { bio: `${tag}-bio-${i}` }),
        };
      default:
        return { kind: 'read', method: 'GET', path: `/api/users/${writer.id}` };
    }
  };
}

/** Readiness says Redis is up (not merely 200: without Redis it is 200 too, degraded). */
function redisUp(ready: LoadResult): boolean {
  if (ready.status !== 200) return false;
  return (JSON.parse(ready.text) as { degraded: string[] }).degraded.length === 0;
}

async function writerRow(db: Client, id: number): Promise<{ bio: string; version: number }> {
  const { rows } = await db.query('SELECT bio, version FROM users WHERE id = $1', [id]);
  return rows[0] as { bio: string; version: number };
}

describe('Redis killed mid-load and restarted (private redis-server)', () => {
  let redis: PrivateRedis;
  let db: Client;

  beforeAll(async () => {
    redis = await PrivateRedis.start();
    db = new Client({ connectionString: process.env.DATABASE_URL });
    await db.connect();
  });

  afterAll(async () => {
    await db?.end();
    await redis?.kill();
  });

  describe('with RATE_LIMIT_FAIL_OPEN=true', () => {
    const report = new ScenarioReport(1, 'Redis killed mid-load and restarted (fail-open)');
    let s: Stage;
    let results: LoadResult[] = [];
    let during: LoadResult[] = [];
    let ready = { down: 0, downBody: '', after: 0 };
    let versionBefore = 0;
    let cacheKeysAfter = 0;

    report.setup(async () => {
      s = await stage(redis, true);
      versionBefore = (await writerRow(db, s.writer.id)).version;
      const load = runLoad({
        url: s.app.url,
        total: 1_500,
        ratePerSecond: 150,
        connections: 32,
        request: mixedRequest(s, 'redis-open'),
      });
      await sleep(3_000);
      await redis.kill();
      const downAt = Date.now();
      await sleep(800);
      const readyDown = await probe(s.app.url, '/health/ready');
      ready = { ...ready, down: readyDown.status, downBody: readyDown.text };
      await sleep(1_700);
      const restartAt = Date.now();
      await redis.restart();
      report.recoveryMs = await timeUntil('the app is connected to Redis again', async () => {
        if ((await redis.clientCount()) === 0) return false;
        return redisUp(await probe(s.app.url, '/health/ready'));
      });
      ready.after = (await probe(s.app.url, '/health/ready')).status;
      results = await load;
      during = results.filter((r) => r.sentAt >= downAt && r.sentAt < restartAt);
      await s.app.api.get(`/api/users/${s.readers[0].id}`);
      cacheKeysAfter = await redis.keysMentioning(s.readers[0].id);

      report.addLoad(results);
      const acknowledged = acknowledgedPosts(results);
      const missing = await missingPosts(db, acknowledged);
      const patches = results.filter((r) => r.request.method === 'PATCH' && r.status === 200);
      const versionDelta = (await writerRow(db, s.writer.id)).version - versionBefore;
      report.lost = missing.length + Math.max(0, patches.length - versionDelta);
      report.note(
        `Redis down ${restartAt - downAt} ms (SIGKILL, restarted empty on the same port); ` +
          `requests sent meanwhile: ${JSON.stringify(statusCounts(during))}`,
      );
      report.note(
        `acknowledged writes checked in PostgreSQL: ${acknowledged.length} posts, ` +
          `${patches.length} profile updates (version +${versionDelta})`,
      );
    }, 90_000);

    afterAll(() => s?.app.stop());

    report.check('reads keep answering while Redis is down', () => {
      const reads = during.filter((r) => r.request.kind === 'read');
      expect(reads.length).toBeGreaterThan(100);
      expect(reads.filter((r) => r.status !== 200).map((r) => `${r.status} ${r.text}`)).toEqual([]);
      for (const r of reads.filter((x) => /^\/api\/users\/\d+$/.test(x.request.path))) {
        expect(JSON.parse(r.text).id).toBe(Number(r.request.path.split('/').pop()));
      }
    });

    report.check('writes succeed while Redis is down', () => {
      const writes = during.filter((r) => r.request.kind === 'write');
      expect(writes.length).toBeGreaterThan(50);
      expect(writes.filter((r) => r.status >= 300).map((r) => `${r.status} ${r.text}`)).toEqual([]);
    });

    report.check('no acknowledged write is lost and the next read shows the last one', async () => {
      expect(await missingPosts(db, acknowledgedPosts(results))).toEqual([]);
      const patches = results.filter((r) => r.request.method === 'PATCH' && r.status === 200);
      const row = await writerRow(db, s.writer.id);
      expect(row.version - versionBefore).toBeGreaterThanOrEqual(patches.length);
      expect(patches.map((r) => JSON.parse(r.request.body as string).bio)).toContain(row.bio);
      expect((await s.app.api.get(`/api/users/${s.writer.id}`)).body.bio).toBe(row.bio);
    });

    report.check(
      'the limiter fails open (nothing refused) and limits again after the restart',
      async () => {
        expect(during.filter((r) => r.status === 429 || r.status >= 500)).toEqual([]);
        expect(hasRateLimitHeaders(results[results.length - 1])).toBe(true);
        const after = await probe(s.app.url, `/api/users/${s.readers[0].id}`);
        expect(hasRateLimitHeaders(after)).toBe(true);
      },
    );

    report.check(
      'readiness stays 200 naming Redis as degraded while it is down (fail-open)',
      () => {
        expect(ready.down).toBe(200);
        expect(JSON.parse(ready.downBody)).toMatchObject({
          degraded: ['redis'],
          details: { redis: { status: 'down' } },
        });
        expect(ready.after).toBe(200);
      },
    );

    report.check(
      'recovers without a restart: same process, reconnected to Redis, no 5xx at any time',
      async () => {
        expect(s.app.child.exitCode).toBeNull();
        expect(await redis.clientCount()).toBeGreaterThan(0);
        expect(results.filter((r) => r.status >= 500 || r.status === 0)).toEqual([]);
      },
    );

    report.check('the cache writes to Redis again after the restart', () =>
      expect(cacheKeysAfter).toBeGreaterThan(0),
    );
  });

  describe('with RATE_LIMIT_FAIL_OPEN=false', () => {
    const report = new ScenarioReport(2, 'Redis killed mid-load and restarted (fail-closed)');
    let s: Stage;
    let results: LoadResult[] = [];
    let during: LoadResult[] = [];
    let resumed: LoadResult[] = [];
    let liveDuring = 0;
    let readyDuring = { status: 0, body: '' };
    let restartAt = 0;

    report.setup(async () => {
      s = await stage(redis, false);
      const load = runLoad({
        url: s.app.url,
        total: 750,
        ratePerSecond: 150,
        connections: 32,
        request: mixedRequest(s, 'redis-closed'),
      });
      await sleep(1_500);
      await redis.kill();
      const downAt = Date.now();
      await sleep(750);
      liveDuring = (await probe(s.app.url, '/health/live')).status;
      const readyDown = await probe(s.app.url, '/health/ready');
      readyDuring = { status: readyDown.status, body: readyDown.text };
      await sleep(750);
      restartAt = Date.now();
      await redis.restart();
      report.recoveryMs = await timeUntil(
        'a limited route answers again',
        async () => (await probe(s.app.url, `/api/users/${s.writer.id}`)).status === 200,
      );
      results = await load;
      // traffic sent once limiting is back, whatever was left of the first load by then (a
      // slow restart on a busy machine can outlast it)
      resumed = await runLoad({
        url: s.app.url,
        total: 100,
        ratePerSecond: 100,
        connections: 8,
        request: mixedRequest(s, 'redis-closed-resumed'),
      });
      during = results.filter((r) => r.sentAt >= downAt && r.sentAt < restartAt);
      report.addLoad(results);
      const acknowledged = acknowledgedPosts(results);
      report.lost = (await missingPosts(db, acknowledged)).length;
      report.note(
        `Redis down ${restartAt - downAt} ms; requests sent meanwhile: ` +
          `${JSON.stringify(statusCounts(during))} (503 is the fail-closed answer)`,
      );
    }, 90_000);

    afterAll(() => s?.app.stop());

    report.check(
      'limited routes answer 503 in the contract shape while Redis is down, never 500 or a hang',
      () => {
        expect(during.filter((r) => r.status === 503).length).toBeGreaterThan(50);
        const wrong = results.filter(
          (r) =>
            (r.status >= 500 && r.status !== 503) ||
            r.status === 0 ||
            (r.status === 503 && errorShapeProblem(503, r.headers, r.text) !== undefined),
        );
        expect(wrong.map((r) => `${r.status} ${r.error ?? r.text}`)).toEqual([]);
      },
    );

    report.check('refused writes are not stored; acknowledged ones are', async () => {
      const refused = results.filter((r) => r.request.path === '/api/posts' && r.status === 503);
      const titles = refused.map((r) => JSON.parse(r.request.body as string).title as string);
      // this run's writer only: earlier runs on a shared database wrote the same titles
      const { rows } = await db.query(
        'SELECT count(*)::int AS n FROM posts WHERE author_id = $1 AND title = ANY($2)',
        [s.writer.id, titles],
      );
      expect(rows[0].n).toBe(0);
      expect(await missingPosts(db, acknowledgedPosts(results))).toEqual([]);
    });

    report.check('operations routes are never limited: /health/live stays 200', () =>
      expect(liveDuring).toBe(200),
    );

    report.check('readiness is 503 naming Redis (required when the limiter fails closed)', () => {
      expect(readyDuring.status).toBe(503);
      expect(JSON.parse(readyDuring.body).message).toMatch(/^unhealthy: redis \(/);
    });

    report.check('limiting resumes after the restart without restarting the app', () => {
      expect(resumed).toHaveLength(100);
      expect(resumed.filter((r) => r.status >= 500 || r.status === 0)).toEqual([]);
      expect(resumed.every(hasRateLimitHeaders)).toBe(true);
      expect(s.app.child.exitCode).toBeNull();
    });
  });
});
