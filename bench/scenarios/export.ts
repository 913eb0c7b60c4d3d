import type { BenchContext } from '../context';
import { interleave, RssSampler } from '../load';
import type { BenchProcess } from '../processes';
import { evaluateTarget, ResultRow, ScenarioOutcome, TargetResult } from '../report';
import { formatNumber, formatRatio, median, pairedRatio } from '../stats';
import { notBuilt, withProcesses } from './common';

const STREAMED = 'streamed (GET /api/posts/export)';
const NAIVE = 'naive find() + JSON.stringify';
const EXPORT_TIMEOUT_MS = 300_000;
/**
 * The naive export of the full table takes about a minute and 2.4 GB here; one round of it
 * makes the point and keeps `npm run bench` within its ten minutes.
 */
const NAIVE_ROUNDS = 1;
const NEWLINE = 0x0a;

interface ExportRound {
  rows: number;
  rowsPerS: number;
  growthMb: number;
  peakMb: number;
}

/** Downloads the whole export, counting lines, while the server's RSS is watched. */
async function exportOnce(target: BenchProcess, path: string): Promise<ExportRound> {
  const baseline = await target.rssMb();
  const rss = new RssSampler(target, 100);
  const started = Date.now();
  let rows = 0;
  let peakMb = 0;
  try {
    const response = await fetch(target.url + path, {
      // fetch asks for gzip/br by default; both variants are measured uncompressed
      headers: { 'accept-encoding': 'identity' },
      signal: AbortSignal.timeout(EXPORT_TIMEOUT_MS),
    });
    if (response.status !== 200 || !response.body)
      throw new Error(`export answered ${response.status}`);
    for await (const chunk of response.body) {
      for (let i = chunk.indexOf(NEWLINE); i !== -1; i = chunk.indexOf(NEWLINE, i + 1)) rows++;
    }
  } finally {
    peakMb = await rss.stop();
  }
  const seconds = (Date.now() - started) / 1000;
  return { rows, rowsPerS: rows / seconds, growthMb: peakMb - baseline, peakMb };
}

/** The naive peer. */
export function exportProcesses(ctx: BenchContext): Promise<BenchProcess>[] {
  const env = { DATABASE_URL: ctx.databaseUrl };
  return [ctx.startPeer('peer-naive-export', 'bench/peers/naive-export.js', env, '/health')];
}

/**
 * 5. Exporting the whole `posts` table as NDJSON: the app's cursor-streamed export against the
 * naive version (bench/peers/naive-export.ts), rows per second and how much RSS grows.
 */
export async function exportScenario(ctx: BenchContext): Promise<ScenarioOutcome> {
  return withProcesses(exportProcesses(ctx), async ([naive]) => {
    const variants: [string, BenchProcess, string, number?][] = [];
    if (ctx.features.export) variants.push([STREAMED, ctx.full, '/api/posts/export?format=ndjson']);
    variants.push([NAIVE, naive, '/api/posts/export', NAIVE_ROUNDS]);
    const results = await interleave(
      variants.map(([name, target, path, rounds]) => ({
        name,
        rounds,
        measure: () => {
          ctx.log(`  ${name}`);
          return exportOnce(target, path);
        },
      })),
      ctx.options.rounds,
    );
    const notes: string[] = [];
    const rowFor = (name: string, extra: Partial<ResultRow>): ResultRow => {
      const rounds = results.get(name)!;
      const rows = median(rounds.map((r) => r.rows));
      if (rounds.some((r) => r.rows !== ctx.seed.posts)) {
        notes.push(
          `${name} returned ${rounds.map((r) => r.rows).join('/')} rows, not ${ctx.seed.posts}.`,
        );
      }
      return {
        variant: name,
        status: 'ok',
        rssMb: Math.max(...rounds.map((r) => r.peakMb)),
        more:
          `${formatNumber(median(rounds.map((r) => r.rowsPerS)))} rows/s, RSS +` +
          `${formatNumber(Math.max(...rounds.map((r) => r.growthMb)))} MB (worst round), ${formatNumber(rows)} rows`,
        ...extra,
      };
    };
    const targets: TargetResult[] = [];
    const rows: ResultRow[] = [];
    const naiveRounds = results.get(NAIVE)!;
    if (ctx.features.export) {
      const streamed = results.get(STREAMED)!;
      const target = evaluateTarget(
        'streamed export: RSS growth',
        { kind: 'below', value: 64, unit: ' MB' },
        Math.max(...streamed.map((r) => r.growthMb)),
      );
      targets.push(target);
      rows.push(
        rowFor(STREAMED, {
          ratio: formatRatio(
            pairedRatio(
              streamed.map((r) => r.rowsPerS),
              naiveRounds.map((r) => r.rowsPerS),
            ),
            'naive rows/s',
          ),
          target: target.cell,
        }),
      );
    } else {
      rows.push(notBuilt(STREAMED, 'no export route in the app yet (issue #6)'));
    }
    rows.push(rowFor(NAIVE, { ratio: '1× (reference)' }));
    notes.push(
      'RSS growth is the peak during the download minus the RSS just before it (all threads ' +
        'of the server process); the worst round is quoted. Both are downloaded uncompressed. ' +
        `The naive variant lives in the bench, not in src/, and runs ${NAIVE_ROUNDS} round(s) only; ` +
        'the rows/s ratio pairs it with the first streamed round.',
    );
    const measured = rows.filter((row) => row.status === 'ok');
    const metric = (name: string, pick: (r: ExportRound) => number) =>
      median(results.get(name)!.map(pick));
    return {
      rows,
      targets,
      notes,
      chart: [
        ...measured.map((row) => ({
          panel: '5 · export throughput (rows/s)',
          variant: row.variant,
          value: metric(row.variant, (r) => r.rowsPerS),
        })),
        ...measured.map((row) => ({
          panel: '5 · export RSS growth (MB)',
          variant: row.variant,
          value: Math.max(...results.get(row.variant)!.map((r) => r.growthMb)),
        })),
      ],
    };
  });
}
