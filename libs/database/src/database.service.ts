import { Injectable, OnApplicationShutdown } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, EntityManager } from 'typeorm';
import type { Pool } from 'pg';
import { DatabaseServer } from './database.server';
import { DatabasePoolStats } from './interfaces';

/**
 * The database as infrastructure: transactions, lag-tolerant reads on replicas, pool
 * statistics, and the shutdown order (pool first, then the embedded server).
 */
@Injectable()
export class DatabaseService implements OnApplicationShutdown {
  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly server: DatabaseServer,
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

  /** Connection counts of the primary's pool, read on demand (e.g. on a metrics scrape). */
  poolStats(): DatabasePoolStats {
    const pool = (this.dataSource.driver as unknown as { master?: Pool }).master;
    return {
      total: pool?.totalCount ?? 0,
      idle: pool?.idleCount ?? 0,
      waiting: pool?.waitingCount ?? 0,
    };
  }

  async onApplicationShutdown(): Promise<void> {
    if (this.dataSource.isInitialized) await this.dataSource.destroy();
    await this.server.stopEmbedded();
  }
}
