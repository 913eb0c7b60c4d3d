import type { BenchContext } from '../context';
import { BenchProcess, childCount } from '../processes';
import { ScenarioOutcome } from '../report';
import { formatRatio } from '../stats';
import {
  chartBars,
  compareThroughput,
  notBuilt,
  throughputRatio,
  throughputRow,
  withProcesses,
} from './common';

const SINGLE = '1 process';
const CLUSTER = 'CLUSTER_WORKERS=2';
const ROUTE = '/api/users/1';

/** The app asked for two cluster workers. */
export function scaleProcesses(ctx: BenchContext): Promise<BenchProcess>[] {
  return [ctx.startApp('cluster-2', { CLUSTER_WORKERS: '2' })];
}

/**
 * 6. Scale on one machine: the cached read served by one process and by a cluster primary
 * with two workers. The load generator needs CPU too, so two workers on two cores cannot double.
 */
export async function scale(ctx: BenchContext): Promise<ScenarioOutcome> {
  return withProcesses(scaleProcesses(ctx), async ([cluster]) => {
    const workers = await childCount(cluster.pid);
    if (workers < 2) {
      return {
        rows: [
          notBuilt(
            CLUSTER,
            `CLUSTER_WORKERS=2 started ${workers + 1} process(es); cluster mode not built yet (issue #7)`,
          ),
        ],
        targets: [],
        notes: [],
        chart: [],
      };
    }
    const samples = await compareThroughput(ctx, [
      { name: SINGLE, target: ctx.full, load: { path: ROUTE } },
      { name: CLUSTER, target: cluster, load: { path: ROUTE } },
    ]);
    const rows = [
      throughputRow(SINGLE, samples.get(SINGLE)!, { ratio: '1× (reference)' }),
      throughputRow(CLUSTER, samples.get(CLUSTER)!, {
        ratio: formatRatio(throughputRatio(samples, CLUSTER, SINGLE), '1 process'),
        more: `${workers} child processes; RSS is the primary and its workers together`,
      }),
    ];
    return {
      rows,
      targets: [],
      notes: [
        'autocannon runs on the same two cores as the workers, so the cluster competes with the ' +
          'load generator for CPU: this measures the gain available on this machine, not on a dedicated server.',
      ],
      chart: chartBars('6 · scale, cached read (req/s)', rows),
    };
  });
}
