import { TestUser } from '../utils/api-client';
import { AppProcess, startAppProcess } from '../utils/app-process';
import { RELAXED_RATE_LIMITS } from '../utils/rate-limits';
import { sleep } from '../utils/net';
import { LoadResult, percentile, runLoad, timeUntil } from './support/load';
import { PrivatePostgres } from '../utils/private-postgres';
import { ScenarioReport } from './support/report';
import {
  residentBytes,
  startHeaderTricklers,
  startSlowReader,
  watchMemory,
} from './support/slow-clients';

const TRICKLERS = 200;
/** The p99 comparison is repeated up to this often: one quiet round shows slow clients cost nothing. */
const ROUNDS = 3;
const SAMPLES = 500;
/** A pace the app serves without queueing even on a busy machine: the p99 then measures interference. */
const CHEAP_RATE = 100;
const EXPORT_ROWS = 60_000;
/** About 60 MB of export: buffering it instead of streaming with backpressure would show. */
const EXPORT_BODY = 'x'.repeat(1_000);
const MEMORY_BOUND_BYTES = 64 * 1024 * 1024;
const MB = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(1)} MB`;

interface Round {
  idleP99: number;
  loadedP99: number;
  ratio: number;
  tricklersOpen: number;
}

describe('slow clients', () => {
  const report = new ScenarioReport(
    5,
    `Slow clients (${TRICKLERS} byte-by-byte header senders, an export read at 1 KB/s)`,
  );
  let pg: PrivatePostgres;
  let app: AppProcess;
  let author: TestUser;
  const rounds: Round[] = [];
  const results: LoadResult[] = [];
  const reader = { status: 0, received: 0, ended: false };
  let memoryGrowth = 0;
  let exportStoppedMs = -1;

  const exportQueriesRunning = () =>
    pg.query(async (db) => {
      const { rows } = await db.query(
        `SELECT count(*)::int AS n FROM pg_stat_activity
         WHERE pid <> pg_backend_pid() AND state <> 'idle' AND query ILIKE '%FROM posts%'`,
      );
      return rows[0].n as number;
    });

  report.setup(async () => {
    pg = await PrivatePostgres.create();
    app = await startAppProcess({
      ...RELAXED_RATE_LIMITS,
      DATABASE_URL: pg.url,
      REDIS_URL: undefined,
    });
    author = await app.api.createUser('Slow export author');
    await pg.query((db) =>
      db.query(
        `INSERT INTO posts (author_id, title, body)
         SELECT $1, 'post ' || g, $2 FROM generate_series(1, $3) g`,
        [author.id, EXPORT_BODY, EXPORT_ROWS],
      ),
    );
    const cheap = (total: number) =>
      runLoad({
        url: app.url,
        total,
        ratePerSecond: CHEAP_RATE,
        connections: 4,
        request: () => ({ kind: 'cheap', method: 'GET', path: '/api/config' }),
      });
    await cheap(200);
    const baseline = residentBytes(app.pid);
    const memory = watchMemory(app.pid);
    try {
      for (let round = 0; round < ROUNDS; round++) {
        const idle = await cheap(SAMPLES);
        const tricklers = await startHeaderTricklers(app.port, TRICKLERS);
        const slow = startSlowReader(
          `${app.url}/api/posts/export?format=ndjson&authorId=${author.id}`,
        );
        await sleep(1_000);
        const loaded = await cheap(SAMPLES);
        const tricklersOpen = tricklers.open();
        Object.assign(reader, {
          status: slow.status(),
          received: slow.received(),
          ended: slow.ended(),
        });
        tricklers.stop();
        slow.stop();
        results.push(...idle, ...loaded);
        const idleP99 = percentile(
          idle.map((r) => r.latencyMs),
          99,
        );
        const loadedP99 = percentile(
          loaded.map((r) => r.latencyMs),
          99,
        );
        rounds.push({ idleP99, loadedP99, ratio: loadedP99 / idleP99, tricklersOpen });
        if (loadedP99 <= 2 * idleP99) break;
      }
    } finally {
      memory.stop();
    }
    memoryGrowth = memory.peak() - baseline;
    exportStoppedMs = await timeUntil(
      'the export query ends after its reader left',
      async () => (await exportQueriesRunning()) === 0,
      10_000,
    );
    report.addLoad(results);
    report.note(
      `p99 of GET /api/config, idle → with slow clients: ${rounds
        .map(
          (r) => `${r.idleP99.toFixed(1)} → ${r.loadedP99.toFixed(1)} ms (×${r.ratio.toFixed(2)})`,
        )
        .join('; ')} (${SAMPLES} requests each at ${CHEAP_RATE}/s)`,
    );
    report.note(
      `resident memory growth ${MB(memoryGrowth)} (bound ${MB(MEMORY_BOUND_BYTES)}); ` +
        `export of ${EXPORT_ROWS} rows (~${MB(EXPORT_ROWS * EXPORT_BODY.length)}): reader got ` +
        `${reader.received} bytes; query ended ${exportStoppedMs} ms after the reader left`,
    );
  }, 180_000);

  afterAll(async () => {
    await app?.stop();
    await pg?.destroy();
  });

  report.check(
    `a cheap route's p99 stays within 2× its idle value while ${TRICKLERS} connections trickle headers`,
    () => {
      expect(rounds.map((r) => r.tricklersOpen)).toEqual(rounds.map(() => TRICKLERS));
      expect(results.filter((r) => r.status !== 200)).toEqual([]);
      expect(Math.min(...rounds.map((r) => r.ratio))).toBeLessThanOrEqual(2);
    },
  );

  report.check(`resident memory grows by less than ${MB(MEMORY_BOUND_BYTES)}`, () => {
    expect(memoryGrowth).toBeLessThan(MEMORY_BOUND_BYTES);
  });

  report.check('the process stays up', () => expect(app.child.exitCode).toBeNull());

  report.check(
    'the 1 KB/s reader is streamed to, not buffered for: it gets data, the export never ends',
    () => {
      expect(reader.status).toBe(200);
      expect(reader.received).toBeGreaterThan(0);
      expect(reader.ended).toBe(false);
    },
  );

  report.check('the export query stops once the slow reader disconnects', () =>
    expect(exportStoppedMs).toBeGreaterThanOrEqual(0),
  );
});
