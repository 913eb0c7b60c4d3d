import type { BenchContext } from '../context';
import type { ScenarioOutcome } from '../report';
import { formatNumber } from '../stats';
import { cacheValue } from './cache-value';
import { eventLoop } from './event-loop';
import { exportScenario } from './export';
import { frameworkFloor } from './framework-floor';
import { overhead } from './overhead';
import { scale } from './scale';
import { stampede } from './stampede';

export interface Scenario {
  id: number;
  title(ctx: Pick<BenchContext, 'options' | 'seed'>): string;
  run(ctx: BenchContext): Promise<ScenarioOutcome>;
}

/** The seven scenarios of issue #8, in the order of the report. */
export const SCENARIOS: readonly Scenario[] = [
  { id: 1, title: () => 'Framework floor: cached GET /api/users/1', run: frameworkFloor },
  {
    id: 2,
    title: ({ seed }) => `Cache value (posts table: ${formatNumber(seed.posts)} rows)`,
    run: cacheValue,
  },
  { id: 3, title: () => 'Stampede: 200 concurrent requests on a cold key', run: stampede },
  {
    id: 4,
    title: ({ options }) =>
      `Event loop: /health/live during a ${formatNumber(options.importRows)}-row import`,
    run: eventLoop,
  },
  {
    id: 5,
    title: ({ seed }) => `Export: ${formatNumber(seed.posts)} rows as NDJSON`,
    run: exportScenario,
  },
  { id: 6, title: () => 'Scale: 1 process vs CLUSTER_WORKERS=2, cached read', run: scale },
  { id: 7, title: () => 'Overhead budget: one feature off at a time, cached read', run: overhead },
];
