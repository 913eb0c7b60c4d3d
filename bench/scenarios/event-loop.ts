import type { BenchContext } from '../context';
import { removePostsAfter } from '../environment';
import { interleave, probeWhile } from '../load';
import type { BenchProcess } from '../processes';
import { configSwitchExists, importCsv } from '../probes';
import { evaluateTarget, ResultRow, ScenarioOutcome, TargetResult } from '../report';
import { formatNumber, formatRatio, median, pairedRatio } from '../stats';
import { chartBars, notBuilt, withProcesses } from './common';

/** `false` parses and validates the CSV on the event loop instead of the worker pool. */
export const OFFLOAD_SWITCH = 'WORKER_OFFLOAD';
/** A health checker's pace, not a load test. */
const PROBE_RATE_PER_S = 100;
const IMPORT_TIMEOUT_S = 300;

const ON = 'offload on (worker pool)';
const OFF = 'parsed on the main thread';

/** A CSV of `rows` posts with quoting and commas, like a real export. */
export function postsCsv(rows: number): Buffer {
  const lines = ['title,body'];
  for (let i = 1; i <= rows; i++) {
    lines.push(`Imported post ${i},"Body of post ${i}, with a comma and ""quotes"" inside."`);
  }
  return Buffer.from(lines.join('\n') + '\n');
}

interface ImportRound {
  p50Ms: number;
  p99Ms: number;
  seconds: number;
  imported: number;
}

/** The app parsing imports on its main thread, when it can be told to. */
export function eventLoopProcesses(ctx: BenchContext): Promise<BenchProcess>[] {
  const built = ctx.features.health && ctx.features.import && ctx.token !== undefined;
  if (!built || !configSwitchExists(OFFLOAD_SWITCH)) return [];
  return [ctx.startApp('main-thread-parse', { [OFFLOAD_SWITCH]: 'false' })];
}

/**
 * 4. How responsive the event loop stays while a big CSV import runs: `/health/live` probed
 * at a steady pace during the import, with the parsing offloaded to the worker pool and with
 * it on the main thread.
 */
export async function eventLoop(ctx: BenchContext): Promise<ScenarioOutcome> {
  const { health, import: importBuilt } = ctx.features;
  if (!health || !importBuilt || !ctx.token) {
    const why = `needs ${[!health && '/health/live (issue #5)', !importBuilt && 'the CSV import (issue #6)'].filter(Boolean).join(' and ')}`;
    return {
      rows: [notBuilt(ON, why), notBuilt(OFF, why)],
      targets: [],
      notes: [],
      chart: [],
    };
  }
  const token = ctx.token;
  const csv = postsCsv(ctx.options.importRows);
  const warmUpCsv = postsCsv(1_000);

  return withProcesses(
    eventLoopProcesses(ctx),
    async ([mainThread]: (BenchProcess | undefined)[]) => {
      const runImport = async (target: BenchProcess, body: Buffer): Promise<ImportRound> => {
        const started = Date.now();
        try {
          const { sample, outcome } = await probeWhile(
            target,
            '/health/live',
            PROBE_RATE_PER_S,
            IMPORT_TIMEOUT_S,
            () => importCsv(target, token, body),
          );
          if (outcome.status !== 201) throw new Error(`import answered ${outcome.status}`);
          return {
            p50Ms: sample.p50Ms,
            p99Ms: sample.p99Ms,
            seconds: (Date.now() - started) / 1000,
            imported: outcome.imported ?? 0,
          };
        } finally {
          await removePostsAfter(ctx.databaseUrl, ctx.seed.lastSeededPostId);
        }
      };
      const variants: [string, BenchProcess][] = [[ON, ctx.full]];
      if (mainThread) variants.push([OFF, mainThread]);
      const results = await interleave(
        variants.map(([name, target]) => ({
          name,
          warmUp: () => runImport(target, warmUpCsv),
          measure: () => {
            ctx.log(`  ${name}`);
            return runImport(target, csv);
          },
        })),
        ctx.options.rounds,
      );

      const rowFor = (name: string, extra: Partial<ResultRow>): ResultRow => {
        const rounds = results.get(name)!;
        const seconds = median(rounds.map((r) => r.seconds));
        return {
          variant: name,
          status: 'ok',
          p50Ms: median(rounds.map((r) => r.p50Ms)),
          p99Ms: median(rounds.map((r) => r.p99Ms)),
          more:
            `import of ${formatNumber(median(rounds.map((r) => r.imported)))} rows took ` +
            `${formatNumber(seconds)} s (${formatNumber(ctx.options.importRows / seconds)} rows/s)`,
          ...extra,
        };
      };
      const onP99 = results.get(ON)!.map((r) => r.p99Ms);
      const target = evaluateTarget(
        'offload on: /health/live p99 during the import',
        { kind: 'below', value: 20, unit: ' ms' },
        median(onP99),
      );
      const targets: TargetResult[] = [target];
      const rows = [rowFor(ON, { target: target.cell, ratio: '1× (reference)' })];
      if (mainThread) {
        const offP99 = results.get(OFF)!.map((r) => r.p99Ms);
        rows.push(rowFor(OFF, { ratio: formatRatio(pairedRatio(offP99, onP99), 'offload p99') }));
      } else {
        rows.push(
          notBuilt(
            OFF,
            `no switch to parse on the main thread; proposed \`${OFFLOAD_SWITCH}=false\``,
          ),
        );
      }
      return {
        rows,
        targets,
        notes: [
          `/health/live is probed ${PROBE_RATE_PER_S} times a second on one connection, from a ` +
            'process of its own (as a health checker would), while the import runs; p50/p99 are ' +
            "that probe's latencies. Imported rows are deleted after each round.",
        ],
        chart: chartBars('4 · /health/live p99 during the import (ms)', rows, (row) => row.p99Ms),
      };
    },
  );
}
