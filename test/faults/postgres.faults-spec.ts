import { AppProcess, startAppProcess } from '../utils/app-process';
import { RELAXED_RATE_LIMITS } from '../utils/rate-limits';
import { TestUser } from '../utils/api-client';
import { sleep } from '../utils/net';
import { errorShapeProblem } from './support/contract';
import { LoadRequest, LoadResult, probe, runLoad, statusCounts, timeUntil } from './support/load';
import { PrivatePostgres } from '../utils/private-postgres';
import { ScenarioReport } from './support/report';
import { acknowledgedPosts, jsonRequest, missingPosts } from './support/writes';

const POOL_MAX = 4;
const CONNECT_TIMEOUT_MS = 1_000;
/** A 503 must come within the connect timeout; this covers scheduling on a busy machine. */
const FAIL_FAST_SLACK_MS = 1_500;
const OUTAGE_MS = 2_000;
/** Requests per second of the loads: enough to keep every connection of the pool busy. */
const LOAD_RATE = 60;
const LOCK_HOLD_MS = 3_000;
const POOL_WAITING = /^db_pool_connections\{[^}]*state="waiting"[^}]*\}\s+(\S+)/gm;

function isDependency503(result: LoadResult): boolean {
  return (
    result.status === 503 &&
    result.headers['retry-after'] !== undefined &&
    errorShapeProblem(result.status, result.headers, result.text) === undefined
  );
}

const slowest = (results: readonly LoadResult[]) => Math.max(0, ...results.map((r) => r.latencyMs));

/**
 * Time a 503 may take beyond the connect timeout: {@link FAIL_FAST_SLACK_MS}, or the slowest
 * answer while the database was still up when the machine is slower than that, so that a busy
 * machine's queueing is not mistaken for a hang.
 */
function failFastSlackMs(results: readonly LoadResult[], downAt: number): number {
  const healthy = results.filter((r) => r.sentAt + r.latencyMs < downAt && r.status < 300);
  return Math.max(FAIL_FAST_SLACK_MS, slowest(healthy));
}

describe('PostgreSQL faults (private cluster)', () => {
  let pg: PrivatePostgres;
  let app: AppProcess;
  let writer: TestUser;

  beforeAll(async () => {
    pg = await PrivatePostgres.create();
    app = await startAppProcess({
      ...RELAXED_RATE_LIMITS,
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
    let afterRecovery: LoadResult[] = [];
    /** Between `downAt` and `startAt` the server was certainly down. */
    let downAt = 0;
    let startAt = 0;
    let ready = { down: 0, downText: '', after: 0 };
    let failFastBoundMs = 0;

    const request =
      (tag: string) =>
      (i: number): LoadRequest =>
        i % 5 < 2
          ? {
              kind: 'write',
              method: 'POST',
              path: '/api/posts',
              ...jsonRequest(writer.token, { title: `${tag}-${i}`, body: 'x' }),
            }
          : i % 5 < 4
            ? { kind: 'read', method: 'GET', path: `/api/users/${writer.id}` }
            : { kind: 'list', method: 'GET', path: `/api/posts?authorId=${writer.id}&limit=5` };

    report.setup(async () => {
      const load = runLoad({
        url: app.url,
        total: LOAD_RATE * 8,
        ratePerSecond: LOAD_RATE,
        connections: 16,
        request: request('pg-restart'),
      });
      await sleep(2_500);
      await pg.stop('immediate');
      downAt = Date.now();
      await sleep(OUTAGE_MS / 2);
      const readyDown = await probe(app.url, '/health/ready');
      ready = { ...ready, down: readyDown.status, downText: readyDown.text };
      await sleep(OUTAGE_MS / 2);
      startAt = Date.now();
      await pg.start();
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
      ready.after = (await probe(app.url, '/health/ready')).status;
      results = await load;
      afterRecovery = await runLoad({
        url: app.url,
        total: LOAD_RATE * 2,
        ratePerSecond: LOAD_RATE,
        connections: 16,
        request: request('pg-recovered'),
      });
      failFastBoundMs = CONNECT_TIMEOUT_MS + failFastSlackMs(results, downAt);
      report.addLoad([...results, ...afterRecovery]);
      const acknowledged = acknowledgedPosts([...results, ...afterRecovery]);
      const missing = await pg.query((db) => missingPosts(db, acknowledged));
      report.lost = missing.length;
      const during = results.filter((r) => r.sentAt >= downAt && r.sentAt < startAt);
      report.note(
        `outage ${startAt - downAt} ms (pg_ctl stop -m immediate, start on the same port); ` +
          `requests sent meanwhile: ${JSON.stringify(statusCounts(during))}; ` +
          `${afterRecovery.length} more after recovery: ${JSON.stringify(statusCounts(afterRecovery))}`,
      );
      report.note(
        `slowest 503: ${slowest(results.filter((r) => r.status === 503)).toFixed(0)} ms ` +
          `(DB_CONNECT_TIMEOUT_MS=${CONNECT_TIMEOUT_MS}, bound ${failFastBoundMs.toFixed(0)} ms); ` +
          `acknowledged posts checked row by row: ${acknowledged.length}`,
      );
    }, 90_000);

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
        (r) => r.status === 0 || (r.status === 503 && r.latencyMs > failFastBoundMs),
      );
      expect(
        slow.map((r) => `${r.request.path}: ${r.status} after ${r.latencyMs.toFixed(0)} ms`),
      ).toEqual([]);
    });

    report.check(
      'the pool recovers by itself: same process, every request after recovery succeeds',
      async () => {
        expect(afterRecovery.filter((r) => r.status < 200 || r.status >= 300)).toEqual([]);
        expect((await app.api.get(`/api/users/${writer.id}`)).body.bio).toBe('after the restart');
        expect(app.child.exitCode).toBeNull();
      },
    );

    report.check('no acknowledged write is lost (every 201 is a row with its title)', async () => {
      const acknowledged = acknowledgedPosts([...results, ...afterRecovery]);
      expect(acknowledged.length).toBeGreaterThan(0);
      expect(await pg.query((db) => missingPosts(db, acknowledged))).toEqual([]);
    });

    report.check(
      'readiness answers 503 naming the database while it is down, 200 once it is back',
      () => {
        expect(ready.down).toBe(503);
        expect(ready.downText).toMatch(/database/);
        expect(ready.after).toBe(200);
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
      // Scrapes while the queue can exist: from the first requests until the first 503s.
      while (Date.now() < lockedAt + CONNECT_TIMEOUT_MS && waitingSeen === 0) {
        const scrape = await probe(app.url, '/metrics', {}, 2_000);
        waitingSeen = [...scrape.text.matchAll(POOL_WAITING)].reduce(
          (sum, m) => sum + Number(m[1]),
          0,
        );
        await sleep(50);
      }
      liveness.push(await probe(app.url, '/health/live', {}, 2_000));
      await sleep(Math.max(0, lockedAt + 2 * CONNECT_TIMEOUT_MS - Date.now()));
      liveness.push(await probe(app.url, '/health/live', {}, 2_000));
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
            .map((r) => r.latencyMs.toFixed(0))
            .join(', ')} ms; ` +
          `/health/live during: ${liveness.map((r) => r.status).join(', ')}; ` +
          `db_pool_connections{state="waiting"} scraped: ${waitingSeen}`,
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

    report.check('db_pool_connections{state="waiting"} shows the queue', () =>
      expect(waitingSeen).toBeGreaterThan(0),
    );
  });
});
