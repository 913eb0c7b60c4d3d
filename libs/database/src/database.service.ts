import { AsyncLocalStorage } from 'node:async_hooks';
import { Inject, Injectable, OnApplicationShutdown } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { withinTimeout } from '@app/redis';
import { DataSource, EntityManager } from 'typeorm';
import { Pool } from 'pg';
import { DedicatedPool, DedicatedPoolTarget } from './database.dedicated-pool';
import { DEFAULT_TRANSACTION_IDLE_MS } from './database.constants';
import { DATABASE_MODULE_OPTIONS } from './database.module-definition';
import { connectionTimeouts } from './database.options';
import { readingClient } from './database.read-your-writes.interceptor';
import { DatabaseReplicas, parseLsn } from './database.replicas';
import { DatabaseServer } from './database.server';
import { PRIMARY_ONLY } from './database.write-fences';
import {
  DatabaseModuleOptions,
  DatabasePoolStats,
  DatabaseReplicaStats,
  DedicatedPoolOptions,
  DedicatedPoolStats,
  TransactionOptions,
} from './interfaces';

/**
 * SQLSTATE classes and codes after which a read on a replica is repeated on the primary: the
 * connection failed (08), the server is shutting down or starting (57P01–57P03), has no
 * connection left (53300), or cancelled the query for a conflict with replay (40001). Errors
 * of the socket itself carry Node's codes (`ECONNREFUSED`…), and pg's own none at all.
 */
const REPLICA_UNAVAILABLE = /^(08|57P0[123]|53300|40001|E[A-Z]+$)/;

function replicaUnavailable(error: unknown): boolean {
  const code = (error as { code?: unknown } | undefined)?.code;
  return typeof code !== 'string' || REPLICA_UNAVAILABLE.test(code);
}

/** An open {@link DatabaseService.inTransaction} scope. */
interface TransactionScope {
  manager: EntityManager;
  /** Work that waits for the commit (see {@link DatabaseService.afterCommit}). */
  afterCommit: (() => Promise<void> | void)[];
}

const transactionScope = new AsyncLocalStorage<TransactionScope>();

/**
 * A transaction that outlasted its time and was rolled back. It carries PostgreSQL's code
 * for a statement timeout, so clients get the same 503 as for one.
 */
class TransactionTimeoutError extends Error {
  readonly code = '57014';
}

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
    private readonly replicas: DatabaseReplicas,
    @Inject(DATABASE_MODULE_OPTIONS) private readonly options: DatabaseModuleOptions,
  ) {}

  /**
   * The manager repositories query through: that of the {@link inTransaction} scope the
   * caller runs in, else the data source's (each statement its own transaction, on the
   * primary). One connection per request either way.
   */
  get manager(): EntityManager {
    return transactionScope.getStore()?.manager ?? this.dataSource.manager;
  }

  /**
   * Runs `work` in one transaction; the query runner is always released. Inside an
   * {@link inTransaction} scope it is a savepoint of the scope's transaction.
   */
  transaction<T>(work: (manager: EntityManager) => Promise<T>): Promise<T> {
    return this.manager.transaction(work);
  }

  /**
   * Runs `work` in one transaction on the primary that every query through {@link manager}
   * or {@link transaction} joins, however deep in the call: committed when `work` resolves,
   * rolled back when it throws or outlasts its time (then it rejects with a statement
   * timeout's code, a 503 for a client), so a hung caller never keeps its connection. Work
   * given to {@link afterCommit} runs once it committed. Inside a scope, `work` joins it.
   *
   * @example
   * await database.inTransaction(async () => {
   *   await posts.create(…); // through database.manager
   *   await database.afterCommit(() => events.publish(new PostsChanged(authorId)));
   * });
   */
  async inTransaction<T>(work: () => Promise<T>, options: TransactionOptions = {}): Promise<T> {
    if (transactionScope.getStore() !== undefined) return work();
    const { statementTimeoutMs } = this.options.config;
    const timeoutMs = options.timeoutMs ?? statementTimeoutMs * 2;
    const idleTimeoutMs = Math.min(
      options.idleTimeoutMs ?? DEFAULT_TRANSACTION_IDLE_MS,
      Math.ceil(statementTimeoutMs / 2),
    );
    const afterCommit: TransactionScope['afterCommit'] = [];
    const result = await this.dataSource.transaction(async (manager) => {
      await manager.query(`SELECT set_config('idle_in_transaction_session_timeout', $1, true)`, [
        String(idleTimeoutMs),
      ]);
      return transactionScope.run({ manager, afterCommit }, () =>
        withinTimeout(
          work(),
          timeoutMs,
          () => new TransactionTimeoutError(`transaction rolled back after ${timeoutMs} ms`),
        ),
      );
    });
    for (const committed of afterCommit) await committed();
    return result;
  }

  /**
   * Runs `work` once the {@link inTransaction} scope the caller runs in has committed (never
   * if it rolls back), before `inTransaction` resolves; at once outside a scope. For what must
   * not see, or announce, a write that may still be undone: cache evictions, events.
   */
  async afterCommit(work: () => Promise<void> | void): Promise<void> {
    const scope = transactionScope.getStore();
    if (scope === undefined) await work();
    else scope.afterCommit.push(work);
  }

  /**
   * Runs `work` on a read replica in the rotation (docs/scaling-out.md), the primary when
   * there is none. For reads that tolerate the replicas' lag (at most `DATABASE_REPLICA_MAX_LAG_MS`),
   * except that a client's own writes are always seen (see {@link ReadYourWritesInterceptor}).
   * A replica that cannot serve (down, shutting down) leaves the rotation and the read is
   * repeated on the primary, so `work` must only read.
   */
  async onReplica<T>(work: (manager: EntityManager) => Promise<T>): Promise<T> {
    const replica = await this.replicas.pick(readingClient.getStore());
    if (!replica) return this.onPrimary(work);
    const runner = replica.dataSource.createQueryRunner();
    try {
      return await work(runner.manager);
    } catch (error) {
      if (!replicaUnavailable(error)) throw error;
      this.replicas.markUnreachable(replica, error);
    } finally {
      await runner.release();
    }
    return this.onPrimary(work);
  }

  /**
   * Call when `client` has written, before it gets the answer: its next reads, in any process
   * sharing the app's Redis, will see it. Reads the primary's WAL insert position (which covers
   * every commit acknowledged so far, asynchronous ones too) as the write's fence; when that
   * fails, the client's reads go to the primary for a while. Never rejects.
   */
  async noteWrite(client: string): Promise<void> {
    if (!this.replicas.configured) return;
    let fence = PRIMARY_ONLY;
    try {
      const [row] = (await this.dataSource.query(
        'SELECT pg_current_wal_insert_lsn()::text AS lsn',
      )) as { lsn: string }[];
      fence = parseLsn(row.lsn);
    } catch {
      // the write itself most likely failed too; its reads stay on the primary meanwhile
    }
    await this.replicas.noteWrite(client, fence);
  }

  /** Whether `client` has a write that some replica may not have replayed yet. */
  awaitsReplay(client: string): boolean {
    return this.replicas.awaitsReplay(client);
  }

  /** State, lag and pool of each read replica (none without `DATABASE_REPLICA_URLS`). */
  replicaStats(): DatabaseReplicaStats[] {
    return this.replicas.stats();
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
    const primaryUrl = await this.server.primaryUrl();
    const target = async (): Promise<DedicatedPoolTarget> => {
      const replica = options.replica
        ? await this.replicas.pick(readingClient.getStore())
        : undefined;
      if (!replica) return { url: primaryUrl };
      return {
        url: replica.url,
        fallback: (error) => {
          this.replicas.markUnreachable(replica, error);
          return primaryUrl;
        },
      };
    };
    const dedicated = new DedicatedPool(
      options.name,
      options.max,
      target,
      (url) =>
        new Pool({
          connectionString: url,
          application_name: 'loadstar',
          max: options.max,
          idleTimeoutMillis: config.poolIdleMs,
          maxUses: config.poolMaxUses,
          ...connectionTimeouts(config, options.statementTimeoutMs),
        }),
    );
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

  private async onPrimary<T>(work: (manager: EntityManager) => Promise<T>): Promise<T> {
    const runner = this.dataSource.createQueryRunner('master');
    try {
      return await work(runner.manager);
    } finally {
      await runner.release();
    }
  }

  /** Use of every pool opened with {@link openDedicatedPool}. */
  dedicatedPoolStats(): DedicatedPoolStats[] {
    return this.dedicatedPools.map((pool) => pool.stats());
  }

  async onApplicationShutdown(): Promise<void> {
    await Promise.all([...this.dedicatedPools.map((pool) => pool.end()), this.replicas.close()]);
    if (this.dataSource.isInitialized) await this.dataSource.destroy();
    await this.server.stopEmbedded();
  }
}
