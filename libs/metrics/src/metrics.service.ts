import { createHash, timingSafeEqual } from 'node:crypto';
import { Inject, Injectable, OnModuleDestroy, OnModuleInit, Optional } from '@nestjs/common';
import { DatabaseService } from '@app/database';
import {
  collectDefaultMetrics,
  Gauge,
  type Metric,
  type OpenMetricsContentType,
  openMetricsContentType,
  register,
  Registry,
} from 'prom-client';
import { answerPrimaryMetricsRequests, requestClusterMetrics } from './metrics.cluster';
import {
  DB_POOL_CONNECTIONS,
  DB_REPLICA_IN_ROTATION,
  DB_REPLICA_LAG_SECONDS,
  DB_REPLICA_POOL_CONNECTIONS,
  DEFAULT_CLUSTER_TIMEOUT_MS,
  MISNAMED_DEFAULT_GAUGES,
} from './metrics.constants';
import { METRICS_MODULE_OPTIONS } from './metrics.module-definition';
import { MetricsModuleOptions } from './interfaces';

const BEARER = /^Bearer +(\S+) *$/i;

const digest = (text: string): Buffer => createHash('sha256').update(text).digest();

/** A default metric whose presence shows that prom-client's defaults are collected already. */
const DEFAULT_METRICS_MARKER = 'process_cpu_user_seconds_total';

/** A rendered scrape and its `Content-Type`. */
export interface Scrape {
  contentType: string;
  text: string;
}

/**
 * The default registry's metrics in a registry of OpenMetrics type, made for one scrape. The
 * default registry stays in Prometheus' format: switching its type would change every scrape's
 * (prom-client keeps one type per registry), and rendering OpenMetrics renames a counter
 * (`foo_total` to its family `foo`) on the metric itself, so each is seen through a view whose
 * family name is its own.
 */
function openMetricsView(): Registry<OpenMetricsContentType> {
  const registry = new Registry<OpenMetricsContentType>();
  registry.setContentType(openMetricsContentType);
  for (const metric of register.getMetricsAsArray() as unknown as RenderedMetric[]) {
    const view: RenderedMetric = {
      name: metric.name,
      // prom-client renders histograms from `getForPromString` (values not yet splayed)
      async get() {
        const data = await (metric.getForPromString?.() ?? metric.get());
        return data.type === 'counter' ? { ...data, name: data.name.replace(/_total$/, '') } : data;
      },
    };
    registry.registerMetric(view as unknown as Metric);
  }
  return registry;
}

/** What a registry reads of a metric to render it. */
interface RenderedMetric {
  name: string;
  get(): Promise<{ name: string; type: string }>;
  getForPromString?(): Promise<{ name: string; type: string }>;
}

/**
 * The process's metrics in prom-client's default registry: Node's runtime (event-loop lag
 * from `monitorEventLoopDelay`, heap, GC, handles; see `MISNAMED_DEFAULT_GAUGES` for the few
 * left out), the database pool read on each scrape,
 * and whatever other modules register (`makeCounterProvider` & co.).
 */
@Injectable()
export class MetricsService implements OnModuleInit, OnModuleDestroy {
  /** Gauges read from the database on each scrape, this app's own. */
  private databaseGauges: Gauge<string>[] = [];

  private readonly tokenDigest?: Buffer;

  constructor(
    @Inject(METRICS_MODULE_OPTIONS) private readonly options: MetricsModuleOptions,
    @Optional() private readonly database?: DatabaseService,
  ) {
    if (options.token !== undefined) this.tokenDigest = digest(options.token);
  }

  get enabled(): boolean {
    return this.options.enabled !== false;
  }

  /**
   * Whether a scrape with this `Authorization` header may read the metrics: always without a
   * token, else only with `Bearer <token>`. Digests of equal length are compared in constant
   * time, so the answer's timing says nothing about how much of a guess was right.
   */
  authorizes(authorization: string | undefined): boolean {
    if (!this.tokenDigest) return true;
    const presented = BEARER.exec(authorization ?? '')?.[1];
    return presented !== undefined && timingSafeEqual(digest(presented), this.tokenDigest);
  }

  onModuleInit(): void {
    if (!this.enabled) return;
    // Process-wide, like the registry: a second app in the same process (tests) reuses them.
    if (!register.getSingleMetric(DEFAULT_METRICS_MARKER)) {
      collectDefaultMetrics({ eventLoopMonitoringPrecision: 10 });
      for (const name of MISNAMED_DEFAULT_GAUGES) register.removeSingleMetric(name);
    }
    if (this.options.clusterWorker) answerPrimaryMetricsRequests();
    if (this.database) this.databaseGauges = this.registerDatabaseGauges(this.database);
  }

  onModuleDestroy(): void {
    for (const gauge of this.databaseGauges) {
      const { name } = gauge as unknown as { name: string };
      if (register.getSingleMetric(name) === gauge) register.removeSingleMetric(name);
    }
  }

  /**
   * The metrics in Prometheus' text format, or in OpenMetrics when the scraper asked for it
   * (`openMetrics`), which is the format that carries exemplars. A cluster worker returns
   * every worker's, aggregated by the primary, always as Prometheus text: prom-client's
   * aggregation drops exemplars, so it answers an OpenMetrics scraper with what it has.
   *
   * @throws Error when the cluster primary does not answer in time
   */
  async scrape(openMetrics = false): Promise<Scrape> {
    if (this.options.clusterWorker) {
      const timeoutMs = this.options.clusterTimeoutMs ?? DEFAULT_CLUSTER_TIMEOUT_MS;
      return { contentType: register.contentType, text: await requestClusterMetrics(timeoutMs) };
    }
    if (!openMetrics) return { contentType: register.contentType, text: await register.metrics() };
    return { contentType: openMetricsContentType, text: await openMetricsView().metrics() };
  }

  /**
   * The primary's pool, and with replicas each replica's pool, replay lag and rotation.
   * Replaces gauges left by an earlier app in this process: they would read a closed pool.
   */
  private registerDatabaseGauges(database: DatabaseService): Gauge<string>[] {
    const gauge = (
      name: string,
      help: string,
      labelNames: string[],
      collect: (this: Gauge<string>) => void,
      aggregator: 'sum' | 'max' | 'min' = 'sum',
    ) => {
      register.removeSingleMetric(name);
      return new Gauge({ name, help, labelNames, collect, aggregator });
    };
    const gauges = [
      gauge(
        DB_POOL_CONNECTIONS,
        'Connections of the primary database pool: total open, idle, and requests waiting for one',
        ['state'],
        function () {
          const stats = database.poolStats();
          this.set({ state: 'total' }, stats.total);
          this.set({ state: 'idle' }, stats.idle);
          this.set({ state: 'waiting' }, stats.waiting);
        },
      ),
    ];
    if (database.replicaStats().length === 0) return gauges;
    return [
      ...gauges,
      gauge(
        DB_REPLICA_POOL_CONNECTIONS,
        'Connections of each read replica pool: total open, idle, and requests waiting for one',
        ['replica', 'state'],
        function () {
          for (const { name: replica, pool } of database.replicaStats()) {
            this.set({ replica, state: 'total' }, pool.total);
            this.set({ replica, state: 'idle' }, pool.idle);
            this.set({ replica, state: 'waiting' }, pool.waiting);
          }
        },
      ),
      gauge(
        DB_REPLICA_LAG_SECONDS,
        'Age of the oldest primary WAL position each replica has not replayed (absent while it is unreachable)',
        ['replica'],
        function () {
          this.reset();
          for (const { name: replica, lagMs } of database.replicaStats()) {
            if (lagMs !== undefined) this.set({ replica }, lagMs / 1000);
          }
        },
        // cluster workers poll on their own: the worst of them, not their sum
        'max',
      ),
      gauge(
        DB_REPLICA_IN_ROTATION,
        'Whether each read replica serves reads (1) or not (0: lagging, unreachable, starting, not a standby)',
        ['replica'],
        function () {
          for (const { name: replica, state } of database.replicaStats()) {
            this.set({ replica }, state === 'in rotation' ? 1 : 0);
          }
        },
        'min',
      ),
    ];
  }
}
