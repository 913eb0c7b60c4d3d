import type { BenchContext } from '../context';
import { removePostsAfter, withClient } from '../environment';
import { interleave, probeWhile } from '../load';
import type { BenchProcess } from '../processes';
import type { ResultRow, ScenarioOutcome } from '../report';
import { formatNumber, median } from '../stats';
import { chartBars, notBuilt, withProcesses } from './common';
import { postsCsv } from './event-loop';

/** The smallest job the app has: one user read and one log line (`LoggingNotifier`). */
const NO_OP_JOB = 'welcome-notification';
const PROBE_RATE_PER_S = 100;
const JOB_TIMEOUT_S = 600;
const POLL_MS = 100;
const NO_OP_JOBS = 2_000;
const QUICK_NO_OP_JOBS = 100;
const QUICK_IMPORT_ROWS = 2_000;

const NO_OP = `no-op jobs (${NO_OP_JOB}), worker process`;
const IMPORT = 'CSV import as a job: api process enqueues, worker process imports';

/** An api-only process (enqueues, answers the probe) and a worker-only process (runs jobs). */
export function jobsProcesses(ctx: BenchContext): Promise<BenchProcess>[] {
  if (!ctx.features.health || !ctx.features.import || ctx.token === undefined) return [];
  return [
    ctx.startApp('jobs-api', { PROCESS_ROLE: 'api' }),
    ctx.startApp('jobs-worker', { PROCESS_ROLE: 'worker' }, undefined, '/health/live'),
  ];
}

/** Seconds until every job of `ids` has ended; throws on a failed one or after the timeout. */
async function jobsEnded(databaseUrl: string, ids: string[]): Promise<void> {
  const deadline = Date.now() + JOB_TIMEOUT_S * 1000;
  for (;;) {
    const [row] = await withClient(databaseUrl, async (client) => {
      const result = await client.query<{ ended: number; failed: number }>(
        `SELECT count(*) FILTER (WHERE state >= 'completed')::int AS ended,
           count(*) FILTER (WHERE state = 'failed')::int AS failed
         FROM pgboss.job WHERE id = ANY($1::uuid[])`,
        [ids],
      );
      return result.rows;
    });
    if (row.failed > 0) throw new Error(`${row.failed} of ${ids.length} jobs failed`);
    if (row.ended === ids.length) return;
    if (Date.now() > deadline) throw new Error(`${ids.length - row.ended} jobs still not ended`);
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
  }
}

/** `count` no-op jobs inserted at once into the queue; jobs per second until all have ended. */
async function noOpRound(ctx: BenchContext, count: number): Promise<number> {
  const ids = await withClient(ctx.databaseUrl, async (client) => {
    const result = await client.query<{ id: string }>(
      `INSERT INTO pgboss.job (name, data)
       SELECT $1, jsonb_build_object('userId', 1) FROM generate_series(1, $2) RETURNING id`,
      [NO_OP_JOB, count],
    );
    return result.rows.map((row) => row.id);
  });
  const started = Date.now();
  await jobsEnded(ctx.databaseUrl, ids);
  return count / ((Date.now() - started) / 1000);
}

interface ImportRound {
  p50Ms: number;
  p99Ms: number;
  seconds: number;
}

/** `POST /api/imports/posts` to the api process, then its job polled until it has ended. */
async function importJob(api: BenchProcess, token: string, csv: Buffer): Promise<string> {
  const headers = { authorization: `Bearer ${token}` };
  const accepted = await fetch(api.url + '/api/imports/posts', {
    method: 'POST',
    headers: { ...headers, 'content-type': 'text/csv' },
    body: csv,
  });
  const job = (await accepted.json()) as { id?: string };
  if (accepted.status !== 202 || !job.id) throw new Error(`import answered ${accepted.status}`);
  const deadline = Date.now() + JOB_TIMEOUT_S * 1000;
  for (;;) {
    const response = await fetch(`${api.url}/api/jobs/${job.id}`, { headers });
    const state = ((await response.json()) as { state?: string; error?: string }).state;
    if (state === 'completed') return job.id;
    if (state !== 'queued' && state !== 'active') throw new Error(`import job ${state}`);
    if (Date.now() > deadline) throw new Error(`import job still ${state}`);
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
  }
}

/**
 * 8. Background jobs across processes: how many no-op jobs a worker process runs per second,
 * how fast the CSV import runs as a job, and how `/health/live` of the api-only process answers
 * while a worker-only process imports.
 */
export async function jobsScenario(ctx: BenchContext): Promise<ScenarioOutcome> {
  const { health, import: importBuilt } = ctx.features;
  if (!health || !importBuilt || !ctx.token) {
    const why = 'needs /health/live, the CSV import and a login';
    return {
      rows: [notBuilt(NO_OP, why), notBuilt(IMPORT, why)],
      targets: [],
      notes: [],
      chart: [],
    };
  }
  const token = ctx.token;
  // quick: a smoke check of a few seconds beside scenario 4's import of the same file
  const rows = ctx.options.quick ? QUICK_IMPORT_ROWS : ctx.options.importRows;
  const noOpJobs = ctx.options.quick ? QUICK_NO_OP_JOBS : NO_OP_JOBS;
  const csv = postsCsv(rows);

  return withProcesses(jobsProcesses(ctx), async ([api]: BenchProcess[]) => {
    const importRound = async (body: Buffer): Promise<ImportRound> => {
      const started = Date.now();
      try {
        const { sample } = await probeWhile(
          api,
          '/health/live',
          PROBE_RATE_PER_S,
          JOB_TIMEOUT_S,
          () => importJob(api, token, body),
        );
        return { p50Ms: sample.p50Ms, p99Ms: sample.p99Ms, seconds: (Date.now() - started) / 1000 };
      } finally {
        await removePostsAfter(ctx.databaseUrl, ctx.seed.lastSeededPostId);
      }
    };
    const warm = ctx.options.warmupS > 0;
    const results = await interleave<number | ImportRound>(
      [
        {
          name: NO_OP,
          warmUp: warm ? () => noOpRound(ctx, QUICK_NO_OP_JOBS) : undefined,
          measure: () => {
            ctx.log(`  ${NO_OP}`);
            return noOpRound(ctx, noOpJobs);
          },
        },
        {
          name: IMPORT,
          warmUp: warm ? () => importRound(postsCsv(1_000)) : undefined,
          measure: () => {
            ctx.log(`  ${IMPORT}`);
            return importRound(csv);
          },
        },
      ],
      ctx.options.rounds,
    );
    const jobsPerS = median(results.get(NO_OP)! as number[]);
    const imports = results.get(IMPORT)! as ImportRound[];
    const seconds = median(imports.map((r) => r.seconds));
    const table: ResultRow[] = [
      {
        variant: NO_OP,
        status: 'ok',
        more: `${formatNumber(noOpJobs)} jobs queued at once: ${formatNumber(jobsPerS)} jobs/s`,
      },
      {
        variant: IMPORT,
        status: 'ok',
        p50Ms: median(imports.map((r) => r.p50Ms)),
        p99Ms: median(imports.map((r) => r.p99Ms)),
        more:
          `${formatNumber(rows)} rows from POST to completed in ${formatNumber(seconds)} s ` +
          `(${formatNumber(rows / seconds)} rows/s); p50/p99: /health/live of the api process`,
      },
    ];
    return {
      rows: table,
      targets: [],
      notes: [
        `Two processes of their own: PROCESS_ROLE=api and PROCESS_ROLE=worker (default job ` +
          `settings, polling every 1 s when idle). No-op jobs are inserted into pg-boss's table in ` +
          `one statement and timed until the last has ended. During the import, /health/live of ` +
          `the api process is probed ${PROBE_RATE_PER_S} times a second from a process of its own; ` +
          'imported rows are deleted after each round.',
      ],
      chart: chartBars(
        '8 · api /health/live p99 while a worker imports (ms)',
        table.filter((row) => row.p99Ms !== undefined),
        (row) => row.p99Ms,
      ),
    };
  });
}
