import { randomInt } from 'node:crypto';
import { Inject, Injectable, OnApplicationShutdown } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, EntityManager } from 'typeorm';
import { Pool } from 'pg';
import { DedicatedPool } from './database.dedicated-pool';
import { DATABASE_MODULE_OPTIONS } from './database.module-definition';
import { connectionTimeouts } from './database.options';
import { DatabaseServer } from './database.server';
import {
  DatabaseModuleOptions,
  DatabasePoolStats,
  DedicatedPoolOptions,
  DedicatedPoolStats,
} from './interfaces';

/**
 * The database as infrastructure: transactions, lag-tolerant reads on replicas, dedicated
 * pools, pool statistics, and the shutdown order (pools first, then the embedded server).
 */
@Injectable()
export class DatabaseService implements OnApplicationShutdown {
  private readonly dedicatedPools: DedicatedPool[] = [];

  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly server: DatabaseServer,
    @Inject(DATABASE_MODULE_OPTIONS) private readonly options: DatabaseModuleOptions,
  ) {}

  /** Runs `work` in one transaction; the query runner is always released. */
  transaction<T>(work: (manager: EntityManager) => Promise<T>): Promise<T> {
    return this.dataSource.transaction(work);
  }

  /**
   * Runs `work` on a read replica (the primary when none is configured). Only for reads that
   * tolerate replication lag, never for a read that must see the same client's last write.
   */
  async onReplica<T>(work: (manager: EntityManager) => Promise<T>): Promise<T> {
    const runner = this.dataSource.createQueryRunner('slave');
    try {
      return await work(runner.manager);
    } finally {
      await runner.release();
    }
  }

  /**
   * A pool of its own, beside the application's, for connections held as long as a client
   * decides (see {@link DedicatedPool}); closed on shutdown, reported by
   * {@link dedicatedPoolStats}. Its connections open on demand and close after
   * `DB_POOL_IDLE_MS` idle.
   *
   * @example
   * const exports = await database.openDedicatedPool({ name: 'export', max: 2, statementTimeoutMs: 3_600_000, replica: true });
   */
  async openDedicatedPool(options: DedicatedPoolOptions): Promise<DedicatedPool> {
    const { config } = this.options;
    const replicas = options.replica ? config.replicaUrls : [];
    const url =
      replicas.length > 0 ? replicas[randomInt(replicas.length)] : await this.server.primaryUrl();
    const pool = new Pool({
      connectionString: url,
      application_name: 'loadstar',
      max: options.max,
      idleTimeoutMillis: config.poolIdleMs,
      maxUses: config.poolMaxUses,
      ...connectionTimeouts(config, options.statementTimeoutMs),
    });
    const dedicated = new DedicatedPool(pool, options.name, options.max);
    this.dedicatedPools.push(dedicated);
    return dedicated;
  }

  /** Connection counts of the primary's pool, read on demand (e.g. on a metrics scrape). */
  poolStats(): DatabasePoolStats {
    const pool = (this.dataSource.driver as unknown as { master?: Pool }).master;
    return {
      total: pool?.totalCount ?? 0,
      idle: pool?.idleCount ?? 0,
      waiting: pool?.waitingCount ?? 0,
    };
  }

  /** Use of every pool opened with {@link openDedicatedPool}. */
  dedicatedPoolStats(): DedicatedPoolStats[] {
    return this.dedicatedPools.map((pool) => pool.stats());
  }

  async onApplicationShutdown(): Promise<void> {
    await Promise.all(this.dedicatedPools.map((pool) => pool.end()));
    if (this.dataSource.isInitialized) await this.dataSource.destroy();
    await this.server.stopEmbedded();
  }
}
