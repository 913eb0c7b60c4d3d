import { rm } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { Pool } from 'pg';
import { rowsDigest, toCsv, trickyRows } from '../posts/csv-fixtures';
import { TestUser } from '../utils/api-client';
import { AppProcess, startAppProcess } from '../utils/app-process';
import { builtApp } from '../utils/built-app';
import { sleep } from '../utils/net';
import { importAsync, waitForJob } from './job-polling';

const ROOT = resolve(__dirname, '..', '..');
/** Short, so that a killed worker's job is taken back within seconds. */
const JOB_TIMINGS = { JOBS_STALL_TIMEOUT_MS: '2000', JOBS_POLL_INTERVAL_MS: '100' };
const NO_SHEDDING = { SHED_EVENT_LOOP_DELAY_MS: '0' };
const ROWS = 40_000;

/**
 * `PROCESS_ROLE=api` and `PROCESS_ROLE=worker` as separate OS processes (the built app) on one
 * database: the api process enqueues, a worker runs the job; a worker killed with SIGKILL in
 * the middle of an import leaves a job that another worker finishes, every row exactly once.
 */
describe('Job processes: api and worker roles, a worker killed mid-import (e2e)', () => {
  const privateDir = join(ROOT, '.data', `jobs-dist-${process.pid}`);
  const started: AppProcess[] = [];
  let entry: string;
  let pool: Pool;

  const start = async (role: 'api' | 'worker') => {
    const app = await startAppProcess(
      { PROCESS_ROLE: role, ...JOB_TIMINGS, ...NO_SHEDDING },
      { entry, readyPath: role === 'worker' ? '/health/live' : '/api/config', timeoutMs: 60_000 },
    );
    started.push(app);
    return app;
  };

  beforeAll(async () => {
    entry = join(await builtApp(privateDir), 'src', 'main.js');
    pool = new Pool({ connectionString: process.env.DATABASE_URL, max: 1 });
  }, 180_000);
  afterAll(async () => {
    await Promise.all(started.map((app) => app.stop('SIGKILL')));
    await pool.end();
    await rm(privateDir, { recursive: true, force: true });
  });

  it('a worker serves only /health/* and /metrics', async () => {
    const worker = await start('worker');
    expect((await worker.api.get('/health/live')).status).toBe(200);
    expect((await worker.api.get('/metrics')).status).toBe(200);
    expect((await worker.api.get('/api/config')).status).toBe(404);
    expect((await worker.api.post('/api/auth/login', {})).status).toBe(404);
    await worker.stop();
  }, 90_000);

  it('the api process only enqueues; worker processes run the import, exactly once across a SIGKILL', async () => {
    const api = await start('api');
    const user: TestUser = await api.api.createUser('Mass Importer');
    const rows = trickyRows(ROWS);
    const accepted = await importAsync(api.api, user.token, toCsv(rows));
    expect(accepted.status).toBe(202);
    const id = accepted.body.id;

    // no process works on it yet: the api process does not run jobs
    await sleep(1_500);
    expect((await api.api.get(`/api/jobs/${id}`, { token: user.token })).body.state).toBe('queued');

    const first = await start('worker');
    const halfway = await waitForJob(
      api.api,
      user.token,
      id,
      (job) => job.state === 'active' && job.progress.done > 0,
      60_000,
    );
    first.child.kill('SIGKILL');
    await first.exited;
    expect(halfway.progress.done).toBeLessThan(halfway.progress.total!);
    const { rows: committed } = await pool.query<{ count: number }>(
      `SELECT count(*)::int AS count FROM posts WHERE author_id = $1`,
      [user.id],
    );
    const before = committed[0].count;
    expect(before).toBeGreaterThan(0);
    expect(before).toBeLessThan(ROWS);

    await start('worker');
    const done = await waitForJob(api.api, user.token, id, undefined, 120_000);
    expect(done).toMatchObject({
      state: 'completed',
      attempts: 2,
      result: { imported: ROWS, failed: 0, errors: [] },
    });
    const { rows: stored } = await pool.query<{ count: number; rows: number; digest: string }>(
      `SELECT count(*)::int AS count, count(DISTINCT import_row)::int AS rows,
         md5(string_agg(title || chr(31) || body, chr(30) ORDER BY id)) AS digest
       FROM posts WHERE author_id = $1`,
      [user.id],
    );
    // every row once, in file order
    expect(stored[0]).toEqual({ count: ROWS, rows: ROWS, digest: rowsDigest(rows) });
  }, 240_000);
});
