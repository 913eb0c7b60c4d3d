/** Where Prometheus scrapes; outside `/api`, so never cached or rate limited. */
export const METRICS_PATH = '/metrics';

/** The HTTP duration histogram (docs/observability.md). */
export const HTTP_REQUEST_DURATION = 'http_request_duration_seconds';

/**
 * `route` label of requests that matched no route: one series for all of them, so a flood of
 * random URLs (404s) cannot create new series.
 */
export const UNMATCHED_ROUTE = '(unmatched)';

/** @see MetricsModuleOptions.durationBuckets */
export const DEFAULT_DURATION_BUCKETS: readonly number[] = [
  0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10,
];

/** The database pool gauge (docs/observability.md), read from `DatabaseService.poolStats()` on scrape. */
export const DB_POOL_CONNECTIONS = 'db_pool_connections';

/** Per-replica gauges (docs/observability.md), read from `DatabaseService.replicaStats()` on scrape. */
export const DB_REPLICA_POOL_CONNECTIONS = 'db_replica_pool_connections';
export const DB_REPLICA_LAG_SECONDS = 'db_replica_lag_seconds';
export const DB_REPLICA_IN_ROTATION = 'db_replica_in_rotation';

/**
 * prom-client defaults that are gauges with a counter's `_total` suffix, which `promtool check
 * metrics` rejects. They are dropped: `nodejs_active_handles`, `nodejs_active_requests` and
 * `nodejs_active_resources` carry the same counts, by type.
 */
export const MISNAMED_DEFAULT_GAUGES: readonly string[] = [
  'nodejs_active_handles_total',
  'nodejs_active_requests_total',
  'nodejs_active_resources_total',
];

/** @see MetricsModuleOptions.clusterTimeoutMs */
export const DEFAULT_CLUSTER_TIMEOUT_MS = 6_000;

/** IPC message types between a worker's `/metrics` and the primary (`serveClusterMetrics`). */
export const CLUSTER_METRICS_REQUEST = 'loadstar:metrics:request';
export const CLUSTER_METRICS_RESPONSE = 'loadstar:metrics:response';
