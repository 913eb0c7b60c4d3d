import { makeCounterProvider, makeGaugeProvider, makeHistogramProvider } from '@app/metrics';
import type { Gauge } from 'prom-client';
import {
  JOB_DURATION_METRIC,
  JOBS_OLDEST_QUEUED_AGE_METRIC,
  JOBS_QUEUED_METRIC,
  JOBS_TOTAL_METRIC,
} from './jobs.constants';

/** How one attempt at a job ended, as `jobs_total` counts it. */
export type JobOutcome = 'completed' | 'failed' | 'retried' | 'cancelled' | 'interrupted';

/** The queue of one job type, as one grouped query reads it. */
export interface QueueDepth {
  type: string;
  /** Jobs waiting: new ones and ones waiting for a retry. */
  queued: number;
  /** Seconds since the longest-waiting runnable job could have started; 0 when none waits. */
  oldestAgeSeconds: number;
}

type QueueDepthReader = () => Promise<QueueDepth[]>;

/**
 * Per process, like prom-client's default registry that holds the gauges: the reader of the
 * app that started last (tests start several apps in one process, one after the other).
 */
let reader: QueueDepthReader | undefined;
/**
 * The read in flight: a scrape collects its gauges at once, so the second gauge's `collect`
 * finds the first's read still running and shares it (one query per scrape).
 */
let inFlight: Promise<QueueDepth[]> | undefined;

/**
 * Makes `read` the source of the queue gauges; the returned function unregisters it (when it
 * is still the current one).
 * @internal
 */
export function readQueueDepthsWith(read: QueueDepthReader): () => void {
  reader = read;
  return () => {
    if (reader === read) reader = undefined;
  };
}

function queueDepths(): Promise<QueueDepth[]> {
  const read = reader;
  if (!read) return Promise.resolve([]);
  inFlight ??= read()
    .catch(() => [])
    .finally(() => {
      inFlight = undefined;
    });
  return inFlight;
}

/**
 * Sets a gauge from the current depths. A failed or timed-out read leaves the gauge empty (no
 * series) rather than stale: an autoscaler then holds its replicas instead of acting on old data.
 */
function collectFrom(pick: (depth: QueueDepth) => number) {
  return async function collect(this: Gauge<'type'>): Promise<void> {
    const depths = await queueDepths();
    this.reset();
    for (const depth of depths) this.set({ type: depth.type }, pick(depth));
  };
}

/**
 * The jobs library's metrics. Counter and histogram are per process (sum them); the queue
 * gauges read the shared queue, so every process reports the same value: aggregate with
 * `max`, and so does a cluster primary (`aggregator: 'max'`).
 * @internal
 */
export const jobsMetricProviders = [
  makeCounterProvider({
    name: JOBS_TOTAL_METRIC,
    help: 'Job attempts that ended, by type and outcome (completed, failed, retried, cancelled, interrupted)',
    labelNames: ['type', 'outcome'],
  }),
  makeHistogramProvider({
    name: JOB_DURATION_METRIC,
    help: 'Duration of job attempts, from fetch to outcome, by type',
    labelNames: ['type'],
    buckets: [0.005, 0.025, 0.1, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600],
  }),
  makeGaugeProvider({
    name: JOBS_QUEUED_METRIC,
    help: 'Jobs waiting to run (new or waiting for a retry), by type; read from the queue at scrape',
    labelNames: ['type'],
    aggregator: 'max',
    collect: collectFrom((depth) => depth.queued),
  }),
  makeGaugeProvider({
    name: JOBS_OLDEST_QUEUED_AGE_METRIC,
    help: 'Seconds the longest-waiting runnable job has waited since it could start, by type (0: none)',
    labelNames: ['type'],
    aggregator: 'max',
    collect: collectFrom((depth) => depth.oldestAgeSeconds),
  }),
];
