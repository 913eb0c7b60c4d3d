import type { BenchContext } from '../context';
import { interleave, LoadSpec, runLoad, Sample, summarize } from '../load';
import type { BenchProcess } from '../processes';
import type { ChartPoint, ResultRow } from '../report';
import { formatNumber, pairedRatio } from '../stats';

/** A server and the request that is measured on it. */
export interface ThroughputContender {
  name: string;
  target: BenchProcess;
  load: Omit<LoadSpec, 'connections' | 'durationS'>;
  /** Runs right before each measured run (not the warm-up), e.g. to read a counter. */
  before?(): Promise<void>;
  /** Runs right after each measured run with what it measured. */
  after?(sample: Sample): Promise<void>;
}

/** Interleaved autocannon runs of every contender (warm-up first, then `rounds` rounds). */
export function compareThroughput(
  ctx: BenchContext,
  contenders: readonly ThroughputContender[],
): Promise<Map<string, Sample[]>> {
  const { connections, warmupS, measureS, rounds } = ctx.options;
  return interleave(
    contenders.map(({ name, target, load, before, after }) => ({
      name,
      warmUp: async () => {
        if (warmupS > 0) await runLoad(target, { ...load, connections, durationS: warmupS });
      },
      measure: async () => {
        ctx.log(`  ${name}`);
        await before?.();
        const sample = await runLoad(target, { ...load, connections, durationS: measureS });
        await after?.(sample);
        return sample;
      },
    })),
    rounds,
  );
}

/** Per-round req/s of `a` against `b`, as a median (see {@link pairedRatio}). */
export function throughputRatio(samples: Map<string, Sample[]>, a: string, b: string): number {
  const rates = (name: string) => (samples.get(name) ?? []).map((sample) => sample.reqPerSec);
  return pairedRatio(rates(a), rates(b));
}

/** The measured columns of a throughput row; failed requests are named, never hidden. */
export function throughputRow(
  variant: string,
  samples: readonly Sample[],
  extra: Partial<ResultRow> = {},
): ResultRow {
  const summary = summarize(samples);
  const failures =
    summary.failures > 0
      ? `${formatNumber(summary.failures)} of ${formatNumber(summary.requests)} requests not 2xx`
      : undefined;
  return {
    variant,
    status: 'ok',
    reqPerSec: summary.reqPerSec,
    p50Ms: summary.p50Ms,
    p99Ms: summary.p99Ms,
    rssMb: summary.peakRssMb,
    ...extra,
    more: [extra.more, failures].filter(Boolean).join('; ') || undefined,
  };
}

export function notBuilt(variant: string, why: string): ResultRow {
  return { variant, status: 'not built', more: why };
}

/** A process for one scenario only, stopped whatever happens to the scenario. */
export async function withProcesses<T>(
  starting: readonly Promise<BenchProcess>[],
  work: (processes: BenchProcess[]) => Promise<T>,
): Promise<T> {
  const settled = await Promise.allSettled(starting);
  const started = settled.flatMap((result) =>
    result.status === 'fulfilled' ? [result.value] : [],
  );
  try {
    const failed = settled.find((result) => result.status === 'rejected');
    if (failed) throw failed.reason;
    return await work(started);
  } finally {
    await Promise.all(started.map((process) => process.stop()));
  }
}

/** One bar per measured row of a panel; rows that are not built have no bar. */
export function chartBars(
  panel: string,
  rows: readonly ResultRow[],
  value: (row: ResultRow) => number | undefined = (row) => row.reqPerSec,
): ChartPoint[] {
  return rows
    .filter((row) => row.status === 'ok')
    .map((row) => ({ panel, variant: row.variant, value: value(row) ?? 0 }));
}
