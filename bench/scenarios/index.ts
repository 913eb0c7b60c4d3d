import type { BenchContext } from '../context';
import type { BenchProcess } from '../processes';
import type { ScenarioOutcome } from '../report';
import { formatNumber } from '../stats';
import { cacheValue, cacheValueProcesses } from './cache-value';
import { eventLoop, eventLoopProcesses } from './event-loop';
import { exportProcesses, exportScenario } from './export';
import { frameworkFloor, frameworkFloorProcesses } from './framework-floor';
import { jobsProcesses, jobsScenario } from './jobs';
import { overhead, overheadProcesses } from './overhead';
import { redisCluster, redisClusterProcesses } from './redis-cluster';
import { scale, scaleProcesses } from './scale';
import { stampede, stampedeProcesses } from './stampede';

export interface Scenario {
  id: number;
  title(ctx: Pick<BenchContext, 'options' | 'seed'>): string;
  /**
   * Starts the processes `run` uses, through `ctx.startApp`/`ctx.startPeer` (which start a
   * name once), so that a run starts all its processes together before measuring anything.
   */
  start?(ctx: BenchContext): Promise<BenchProcess>[];
  run(ctx: BenchContext): Promise<ScenarioOutcome>;
}

/**
 * The seven scenarios of issue #8, the jobs scenario of issue #20 and Redis Cluster vs one Redis
 * of issue #18, in the order of the report.
 */
export const SCENARIOS: readonly Scenario[] = [
  {
    id: 1,
    title: () => 'Framework floor: cached GET /api/users/1',
    start: frameworkFloorProcesses,
    run: frameworkFloor,
  },
  {
    id: 2,
    title: ({ seed }) => `Cache value (posts table: ${formatNumber(seed.posts)} rows)`,
    start: cacheValueProcesses,
    run: cacheValue,
  },
  {
    id: 3,
    title: () => 'Stampede: 200 concurrent requests on a cold key',
    start: stampedeProcesses,
    run: stampede,
  },
  {
    id: 4,
    title: ({ options }) =>
      `Event loop: /health/live during a ${formatNumber(options.importRows)}-row import`,
    start: eventLoopProcesses,
    run: eventLoop,
  },
  {
    id: 5,
    title: ({ seed }) => `Export: ${formatNumber(seed.posts)} rows as NDJSON`,
    start: exportProcesses,
    run: exportScenario,
  },
  {
    id: 6,
    title: () => 'Scale: 1 process vs CLUSTER_WORKERS=2, cached read',
    start: scaleProcesses,
    run: scale,
  },
  {
    id: 7,
    title: () => 'Overhead budget: one feature off at a time, cached read',
    start: overheadProcesses,
    run: overhead,
  },
  {
    id: 8,
    title: ({ options }) =>
      `Jobs: no-op jobs/s, a ${options.quick ? 'small' : formatNumber(options.importRows) + '-row'} import as a job, api /health/live meanwhile`,
    start: jobsProcesses,
    run: jobsScenario,
  },
  {
    id: 9,
    title: () => 'Redis Cluster vs one Redis: cached read and a limited route',
    start: redisClusterProcesses,
    run: redisCluster,
  },
];
