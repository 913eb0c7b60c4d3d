import type { BenchContext } from '../context';
import type { BenchProcess } from '../processes';
import { ResultRow, ScenarioOutcome } from '../report';
import { formatRatio } from '../stats';
import {
  chartBars,
  compareThroughput,
  notBuilt,
  throughputRatio,
  throughputRow,
  withProcesses,
} from './common';

/** Served from the L1: the limiter's script is the request's one Redis call. */
const CACHED_READ = '/api/users/1';
/** Neither cached nor reading the database: the limiter alone. */
const LIMITED_ROUTE = '/api/config';

const ROUTES = [
  { label: 'cached read', path: CACHED_READ },
  { label: 'limited route', path: LIMITED_ROUTE },
] as const;

const oneRedis = (label: string) => `${label}, one Redis`;
const onCluster = (label: string) => `${label}, Redis Cluster`;

/** The app on the run's Redis Cluster, and the cluster stopped with it; one per run. */
const clusterApps = new WeakMap<BenchContext, Promise<BenchProcess>>();

/** The app on a Redis Cluster of three masters the bench starts (none without `redis-server`). */
export function redisClusterProcesses(ctx: BenchContext): Promise<BenchProcess>[] {
  if (ctx.redisUrl === undefined) return [];
  let app = clusterApps.get(ctx);
  if (app === undefined) {
    app = (async () => {
      const cluster = await ctx.registry.startRedisCluster();
      try {
        const started = await ctx.startApp('redis-cluster', {
          REDIS_URL: '',
          REDIS_CLUSTER_NODES: cluster.nodes,
        });
        return {
          ...started,
          stop: async (graceMs?: number) => {
            await started.stop(graceMs);
            await cluster.stop();
          },
        };
      } catch (error) {
        await cluster.stop();
        throw error;
      }
    })();
    clusterApps.set(ctx, app);
  }
  return [app];
}

/**
 * 9. Redis Cluster vs one Redis: the cached read and a limited route, each served by the full
 * stack on the run's one Redis and by the same app on a cluster of three masters, interleaved
 * in the same run. On the cluster the limiter's batch of a turn is one script call per hash
 * slot (here, one client: one slot), sent to the slot's master.
 */
export async function redisCluster(ctx: BenchContext): Promise<ScenarioOutcome> {
  if (ctx.redisUrl === undefined) {
    return {
      rows: [notBuilt('Redis Cluster', '`redis-server` not found: no Redis to compare with')],
      targets: [],
      notes: [],
      chart: [],
    };
  }
  return withProcesses(redisClusterProcesses(ctx), async ([cluster]) => {
    const samples = await compareThroughput(
      ctx,
      ROUTES.flatMap(({ label, path }) => [
        { name: oneRedis(label), target: ctx.full, load: { path } },
        { name: onCluster(label), target: cluster, load: { path } },
      ]),
    );
    const rows: ResultRow[] = ROUTES.flatMap(({ label }) => [
      throughputRow(oneRedis(label), samples.get(oneRedis(label))!, { ratio: '1× (reference)' }),
      throughputRow(onCluster(label), samples.get(onCluster(label))!, {
        ratio: formatRatio(
          throughputRatio(samples, onCluster(label), oneRedis(label)),
          'one Redis',
        ),
        more: 'three masters, no replicas, on the same machine',
      }),
    ]);
    return {
      rows,
      targets: [],
      notes: [
        'The cluster runs on the same two cores as the app and the load generator: this compares ' +
          'the client-side cost of the cluster (slot routing, a connection per master), not the ' +
          'capacity of three machines.',
      ],
      chart: chartBars('9 · Redis Cluster vs one Redis (req/s)', rows),
    };
  });
}
