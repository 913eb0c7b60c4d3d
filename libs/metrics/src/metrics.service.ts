import { createHash, timingSafeEqual } from 'node:crypto';
import { Inject, Injectable, OnModuleDestroy, OnModuleInit, Optional } from '@nestjs/common';
import { DatabaseService } from '@app/database';
import { collectDefaultMetrics, Gauge, register } from 'prom-client';
import { answerPrimaryMetricsRequests, requestClusterMetrics } from './metrics.cluster';
import {
  DB_POOL_CONNECTIONS,
  DEFAULT_CLUSTER_TIMEOUT_MS,
  MISNAMED_DEFAULT_GAUGES,
} from './metrics.constants';
import { METRICS_MODULE_OPTIONS } from './metrics.module-definition';
import { MetricsModuleOptions } from './interfaces';

const BEARER = /^Bearer +(\S+) *$/i;

const digest = (text: string): Buffer => createHash('sha256').update(text).digest();

/** A default metric whose presence shows that prom-client's defaults are collected already. */
const DEFAULT_METRICS_MARKER = 'process_cpu_user_seconds_total';

/**
 * The process's metrics in prom-client's default registry: Node's runtime (event-loop lag
 * from `monitorEventLoopDelay`, heap, GC, handles; see `MISNAMED_DEFAULT_GAUGES` for the few
 * left out), the database pool read on each scrape,
 * and whatever other modules register (`makeCounterProvider` & co.).
 */
@Injectable()
export class MetricsService implements OnModuleInit, OnModuleDestroy {
  private poolGauge?: Gauge<'state'>;

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

  /** `Content-Type` of {@link scrape}'s text. */
  get contentType(): string {
    return register.contentType;
  }

  onModuleInit(): void {
    if (!this.enabled) return;
    // Process-wide, like the registry: a second app in the same process (tests) reuses them.
    if (!register.getSingleMetric(DEFAULT_METRICS_MARKER)) {
      collectDefaultMetrics({ eventLoopMonitoringPrecision: 10 });
      for (const name of MISNAMED_DEFAULT_GAUGES) register.removeSingleMetric(name);
    }
    if (this.options.clusterWorker) answerPrimaryMetricsRequests();
    if (this.database) this.poolGauge = this.registerPoolGauge(this.database);
  }

  onModuleDestroy(): void {
    if (this.poolGauge && register.getSingleMetric(DB_POOL_CONNECTIONS) === this.poolGauge) {
      register.removeSingleMetric(DB_POOL_CONNECTIONS);
    }
  }

  /**
   * The metrics in Prometheus' text format; a cluster worker returns every worker's,
   * aggregated by the primary.
   *
   * @throws Error when the cluster primary does not answer in time
   */
  scrape(): Promise<string> {
    return this.options.clusterWorker
      ? requestClusterMetrics(this.options.clusterTimeoutMs ?? DEFAULT_CLUSTER_TIMEOUT_MS)
      : register.metrics();
  }

  /** Replaces a gauge left by an earlier app in this process: it would read a closed pool. */
  private registerPoolGauge(database: DatabaseService): Gauge<'state'> {
    register.removeSingleMetric(DB_POOL_CONNECTIONS);
    return new Gauge({
      name: DB_POOL_CONNECTIONS,
      help: 'Connections of the primary database pool: total open, idle, and requests waiting for one',
      labelNames: ['state'],
      collect() {
        const stats = database.poolStats();
        this.set({ state: 'total' }, stats.total);
        this.set({ state: 'idle' }, stats.idle);
        this.set({ state: 'waiting' }, stats.waiting);
      },
    });
  }
}
