import { AppProcess, startAppProcess } from '../utils/app-process';
import { TestUser } from '../utils/api-client';
import { sleep } from '../utils/net';
import { errorShapeProblem } from './support/contract';
import { appFeatures, GENEROUS_LIMITS } from './support/features';
import { LoadRequest, LoadResult, probe, runLoad, statusCounts, timeUntil } from './support/load';
import { PrivatePostgres } from '../utils/private-postgres';
import { ScenarioReport } from './support/report';
import { acknowledgedPosts, jsonRequest, missingPosts } from './support/writes';

const features = appFeatures();
const POOL_MAX = 4;
const CONNECT_TIMEOUT_MS = 1_000;
/** A 503 must come within the connect timeout; this covers scheduling on a busy machine. */
const FAIL_FAST_SLACK_MS = 1_500;
const OUTAGE_MS = 2_000;
const LOCK_HOLD_MS = 3_000;
const POOL_WAITING = /^db_pool_connections\{[^}]*state="waiting"[^}]*\}\s+(\S+)/gm;

function isDependency503(result: LoadResult): boolean {
  return (
    result.status === 503 &&
    result.headers['retry-after'] !== undefined &&
    errorShapeProblem(result.status, result.headers, result.text) === undefined
  );
}

describe('PostgreSQL faults (private cluster)', () => {
  let pg: PrivatePostgres;
  let app: AppProcess;
  let writer: TestUser;

  beforeAll(async () => {
    pg = await PrivatePostgres.create();
    app = await startAppProcess({
      ...GENEROUS_LIMITS,
      DATABASE_URL: pg.url,
      REDIS_URL: undefined,
      DB_POOL_MAX: String(POOL_MAX),
      DB_CONNECT_TIMEOUT_MS: String(CONNECT_TIMEOUT_MS),
      DB_STATEMENT_TIMEOUT_MS: '10000',
    });
    writer = await app.api.createUser('PostgreSQL fault writer');
  }, 60_000);

  afterAll(async () => {
    await app?.stop();
    await pg?.destroy();
  });

  describe('PostgreSQL restarted mid-load', () => {
    const report = new ScenarioReport(3, 'PostgreSQL restarted mid-load');
    let results: LoadResult[] = [];
    /** Between `downAt` and `startAt` the server was certainly down; `upAt`: it accepts again. */
    let downAt = 0;
    let startAt = 0;
    let upAt = 0;
    let readyWhileDown = 0;
    let readyAfter = 0;

    report.setup(async () => {
      const request = (i: number): LoadRequest =>
        i % 5 < 2
          ? {
              kind: 'write',
              method: 'POST',
              path: '/api/posts',
              ...jsonRequest(writer.token, { title: `pg-restart-${i}`, body: 'x' }),
            }
          : i % 5 < 4
            ? { kind: 'read', method: 'GET', path: `/api/users/${writer.id}` }
            : { kind: 'list', method: 'GET', path: `/api/posts?authorId=${writer.id}&limit=5` };
      const load = runLoad({
        url: app.url,
        total: 1_200,
        ratePerSecond: 150,
        connections: 64,
        request,
      });
      await sleep(2_500);
      await pg.stop('immediate');
      downAt = Date.now();
      await sleep(OUTAGE_MS / 2);
      readyWhileDown = (await probe(app.url, '/health/ready')).status;
      await sleep(OUTAGE_MS / 2);
      startAt = Date.now();
      await pg.start();
      upAt = Date.now();
      report.recoveryMs = await timeUntil(
        'a write succeeds',
        async () =>
          (
            await probe(app.url, `/api/users/${writer.id}`, {
              method: 'PATCH',
              ...jsonRequest(writer.token, { bio: 'after the restart' }),
            })
          ).status === 200,
      );
      readyAfter = (await probe(app.url, '/health/ready')).status;
      results = await load;
      report.addLoad(results);
      const acknowledged = acknowledgedPosts(results);
      const missing = await pg.query((db) => missingPosts(db, acknowledged));
      report.lost = missing.length;
      const during = results.filter((r) => r.sentAt >= downAt && r.sentAt < startAt);
      report.note(
        `outage ${startAt - downAt} ms (pg_ctl stop -m immediate, start on the same port); ` +
          `requests sent meanwhile: ${JSON.stringify(statusCounts(during))}`,
      );
      report.note(
        `slowest 503: ${Math.max(0, ...results.filter((r) => r.status === 503).map((r) => r.latencyMs))} ms ` +
          `(DB_CONNECT_TIMEOUT_MS=${CONNECT_TIMEOUT_MS}); acknowledged posts checked: ${acknowledged.length}`,
      );
    }, 60_000);

    report.check(
      'every failure is a 503 in the contract shape with Retry-After, never a 500',
      () => {
        const wrong = results.filter((r) => r.status >= 500 && !isDependency503(r));
        expect(wrong.map((r) => `${r.status} ${r.error ?? r.text}`)).toEqual([]);
      },
    );

    report.check('the outage was felt: requests sent while it was down got 503', () => {
      const during = results.filter((r) => r.sentAt >= downAt && r.sentAt < startAt);
      expect(during.filter((r) => r.status === 503).length).toBeGreaterThan(0);
    });

    report.check('requests fail fast: every 503 within the connect timeout, none hangs', () => {
      const slow = results.filter(
        (r) =>
          r.status === 0 ||
          (r.status === 503 && r.latencyMs > CONNECT_TIMEOUT_MS + FAIL_FAST_SLACK_MS),
      );
      expect(slow.map((r) => `${r.request.path}: ${r.status} after ${r.latencyMs} ms`)).toEqual([]);
    });

    report.check(
      'the pool recovers by itself: same process, requests after the restart succeed',
      async () => {
        const after = results.filter((r) => r.sentAt > upAt + 1_000);
        expect(after.length).toBeGreaterThan(0);
        expect(after.filter((r) => r.status >= 500)).toEqual([]);
        expect((await app.api.get(`/api/users/${writer.id}`)).body.bio).toBe('after the restart');
        expect(app.child.exitCode).toBeNull();
      },
    );

    report.check('no acknowledged write is lost (every 201 is a row with its title)', async () => {
      const acknowledged = acknowledgedPosts(results);
      expect(acknowledged.length).toBeGreaterThan(0);
      expect(await pg.query((db) => missingPosts(db, acknowledged))).toEqual([]);
    });

    report.checkIf(
      features.healthReady,
      '/health/ready is not served yet',
      'readiness answers 503 while the database is down and 200 once it is back',
      () => {
        expect(readyWhileDown).toBe(503);
        expect(readyAfter).toBe(200);
      },
    );
  });

  describe('pool exhaustion', () => {
    const report = new ScenarioReport(
      4,
      `Pool exhaustion (DB_POOL_MAX=${POOL_MAX}, ${4 * POOL_MAX} concurrent slow requests)`,
    );
    const concurrent = 4 * POOL_MAX;
    let results: LoadResult[] = [];
    const liveness: LoadResult[] = [];
    let waitingSeen = 0;

    report.setup(async () => {
      // A maintenance job holding a table lock makes every query on `users` slow: each request
      // that got a connection holds it, the rest queue in the pool.
      const locker = await pg.connect();
      await locker.query('BEGIN');
      await locker.query('LOCK TABLE users IN ACCESS EXCLUSIVE MODE');
      const lockedAt = Date.now();
      const load = runLoad({
        url: app.url,
        total: concurrent,
        ratePerSecond: 10_000,
        connections: concurrent,
        request: (i) => ({ kind: 'read', method: 'GET', path: `/api/users/${2_000_000_000 + i}` }),
      });
      await sleep(CONNECT_TIMEOUT_MS / 2);
      const livePath = features.healthLive ? '/health/live' : '/api/config';
      liveness.push(await probe(app.url, livePath, {}, 2_000));
      const scrape = await probe(app.url, '/metrics', {}, 2_000);
      waitingSeen = [...scrape.text.matchAll(POOL_WAITING)].reduce(
        (sum, m) => sum + Number(m[1]),
        0,
      );
      await sleep(CONNECT_TIMEOUT_MS);
      liveness.push(await probe(app.url, livePath, {}, 2_000));
      await sleep(Math.max(0, lockedAt + LOCK_HOLD_MS - Date.now()));
      await locker.query('COMMIT');
      await locker.end();
      report.recoveryMs = await timeUntil(
        'a query on users succeeds',
        async () => (await probe(app.url, `/api/users/${writer.id}`)).status === 200,
      );
      results = await load;
      report.addLoad(results);
      report.addLoad(liveness);
      report.lost = 0;
      report.note(
        `users locked for ${LOCK_HOLD_MS} ms; DB_CONNECT_TIMEOUT_MS=${CONNECT_TIMEOUT_MS}; ` +
          `503 latencies ${results
            .filter((r) => r.status === 503)
            .map((r) => r.latencyMs)
            .join(', ')} ms; ` +
          `liveness (${livePath}) during: ${liveness.map((r) => r.status).join(', ')}; ` +
          `db_pool_connections{state="waiting"} scraped: ${features.poolMetric ? waitingSeen : 'n/a'}`,
      );
    }, 30_000);

    report.check(
      'excess requests wait for the connect timeout, then get 503 in the contract shape',
      () => {
        const rejected = results.filter((r) => r.status === 503);
        expect(rejected.length).toBeGreaterThanOrEqual(concurrent - POOL_MAX);
        for (const r of rejected) {
          expect(isDependency503(r)).toBe(true);
          expect(r.latencyMs).toBeGreaterThanOrEqual(CONNECT_TIMEOUT_MS - 50);
          expect(r.latencyMs).toBeLessThan(CONNECT_TIMEOUT_MS + FAIL_FAST_SLACK_MS);
        }
      },
    );

    report.check(
      'requests holding a connection finish once the lock goes (404: no such user)',
      () => {
        const finished = results.filter((r) => r.status !== 503);
        expect(finished.length).toBeGreaterThan(0);
        expect(finished.every((r) => r.status === 404)).toBe(true);
      },
    );

    report.check('the process stays live and serves again without a restart', () => {
      expect(liveness.map((r) => r.status)).toEqual([200, 200]);
      expect(app.child.exitCode).toBeNull();
    });

    report.checkIf(
      features.poolMetric,
      'GET /metrics has no db_pool_connections yet',
      'db_pool_connections{state="waiting"} shows the queue',
      () => expect(waitingSeen).toBeGreaterThan(0),
    );
  });
});
