export * from './interfaces';
export { MetricsModule } from './metrics.module';
export { MetricsService, type Scrape } from './metrics.service';
export {
  answerPrimaryMetricsRequests,
  clusterMetrics,
  serveClusterMetrics,
} from './metrics.cluster';
export {
  DB_POOL_CONNECTIONS,
  HTTP_REQUEST_DURATION,
  METRICS_PATH,
  UNMATCHED_ROUTE,
} from './metrics.constants';
export {
  InjectMetric,
  makeCounterProvider,
  makeGaugeProvider,
  makeHistogramProvider,
} from '@willsoto/nestjs-prometheus';
