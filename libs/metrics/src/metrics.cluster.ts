import cluster, { Worker } from 'node:cluster';
import { AggregatorRegistry, PrometheusContentType } from 'prom-client';
import { CLUSTER_METRICS_REQUEST, CLUSTER_METRICS_RESPONSE } from './metrics.constants';

interface ClusterMetricsRequest {
  type: typeof CLUSTER_METRICS_REQUEST;
  id: number;
}

interface ClusterMetricsResponse {
  type: typeof CLUSTER_METRICS_RESPONSE;
  id: number;
  metrics?: string;
  error?: string;
}

let aggregator: AggregatorRegistry<PrometheusContentType> | undefined;
let nextRequestId = 0;

/**
 * prom-client's cluster support: in the primary, an `AggregatorRegistry` asks every worker
 * for its metrics; in a worker, creating one installs the listener that answers.
 */
function aggregatorRegistry(): AggregatorRegistry<PrometheusContentType> {
  aggregator ??= new AggregatorRegistry();
  return aggregator;
}

function isMessage<T extends { type: string }>(message: unknown, type: T['type']): message is T {
  return typeof message === 'object' && message !== null && (message as T).type === type;
}

/**
 * Cluster primary: every worker's metrics, aggregated (counters and histograms summed,
 * gauges summed or averaged as prom-client declares them), in Prometheus' text format.
 *
 * @example const text = await clusterMetrics();
 */
export function clusterMetrics(): Promise<string> {
  return aggregatorRegistry().clusterMetrics();
}

/**
 * Cluster primary: answers the workers' `GET /metrics` with {@link clusterMetrics}. Workers
 * share the listening socket, so a scrape lands on any one of them; that worker asks the
 * primary, which collects from all workers. Call once in the primary, before or after
 * forking; the workers need `MetricsModule` with `clusterWorker: true`.
 *
 * @returns a function that stops answering
 * @example
 * if (cluster.isPrimary) {
 *   serveClusterMetrics();
 *   for (let i = 0; i < workers; i++) cluster.fork();
 * }
 */
export function serveClusterMetrics(): () => void {
  aggregatorRegistry();
  const answer = (worker: Worker, message: unknown): void => {
    if (!isMessage<ClusterMetricsRequest>(message, CLUSTER_METRICS_REQUEST)) return;
    const reply = (response: Omit<ClusterMetricsResponse, 'type' | 'id'>) => {
      if (worker.isConnected()) {
        worker.send({ type: CLUSTER_METRICS_RESPONSE, id: message.id, ...response });
      }
    };
    clusterMetrics().then(
      (metrics) => reply({ metrics }),
      (error: Error) => reply({ error: error.message }),
    );
  };
  cluster.on('message', answer);
  return () => cluster.off('message', answer);
}

/**
 * Cluster worker: lets prom-client answer the primary's requests for this worker's metrics.
 * `MetricsService` calls it at init; a worker calls it first thing as well, because the
 * primary asks every connected worker and waits for all: one still starting (or a standby)
 * that does not answer would fail the whole scrape after prom-client's 5 s timeout.
 */
export function answerPrimaryMetricsRequests(): void {
  aggregatorRegistry();
}

/**
 * Cluster worker: asks the primary for every worker's metrics.
 * @internal
 */
export function requestClusterMetrics(timeoutMs: number): Promise<string> {
  const id = nextRequestId++;
  return new Promise((resolve, reject) => {
    const settle = (message: unknown) => {
      if (!isMessage<ClusterMetricsResponse>(message, CLUSTER_METRICS_RESPONSE)) return;
      if (message.id !== id) return;
      clearTimeout(timer);
      process.off('message', settle);
      if (message.metrics !== undefined) resolve(message.metrics);
      else reject(new Error(`cluster primary could not aggregate metrics: ${message.error}`));
    };
    const timer = setTimeout(() => {
      process.off('message', settle);
      reject(new Error(`no metrics from the cluster primary within ${timeoutMs} ms`));
    }, timeoutMs);
    process.on('message', settle);
    if (!process.send) {
      settle({ type: CLUSTER_METRICS_RESPONSE, id, error: 'not a cluster worker' });
      return;
    }
    process.send({ type: CLUSTER_METRICS_REQUEST, id } satisfies ClusterMetricsRequest);
  });
}
