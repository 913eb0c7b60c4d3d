/** Options of {@link MetricsModule}. */
export interface MetricsModuleOptions {
  /**
   * `false`: `GET /metrics` answers 404, no request is observed and Node's runtime metrics are
   * not collected; counters other modules declare still exist but are never read.
   * @default true
   */
  enabled?: boolean;
  /**
   * When set, `GET /metrics` answers 401 unless the request carries
   * `Authorization: Bearer <token>` (Prometheus: `authorization: { credentials_file: … }`).
   * @default undefined (no token asked)
   * @example 'c2NyYXBlLXRva2VuLTAxMjM0NTY3ODk'
   */
  token?: string;
  /**
   * Upper bounds (seconds) of `http_request_duration_seconds`' buckets.
   * @default [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10]
   */
  durationBuckets?: number[];
  /**
   * Whether this process is an HTTP worker of loadstar's cluster primary: `/metrics` then
   * answers with every worker's metrics, aggregated by the primary (see `serveClusterMetrics`).
   * @default false
   */
  clusterWorker?: boolean;
  /**
   * How long a clustered `/metrics` waits for the primary's aggregate before answering 503.
   * @default 6000
   */
  clusterTimeoutMs?: number;
}
