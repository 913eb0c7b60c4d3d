import type { RedisConnectionOptions } from '@app/redis';
import type { MixedList } from 'typeorm';

/** Where the database is and how the pool behaves. */
export interface DatabaseConnectionOptions {
  /** Primary's URL; `undefined` starts the embedded PostgreSQL. */
  url?: string;
  /** Read replicas' URLs (streaming standbys); reads marked for a replica go to one of them. */
  replicaUrls: string[];
  /**
   * A replica whose replay lags the primary by more than this leaves the rotation until it has
   * caught up (`DATABASE_REPLICA_MAX_LAG_MS`).
   * @default 5000
   */
  replicaMaxLagMs: number;
  /**
   * How often the primary's WAL position and each replica's replayed position are read
   * (`DATABASE_REPLICA_POLL_MS`): the lag's resolution, and how long after a write its client's
   * reads stay on the primary at least.
   * @default 250
   */
  replicaPollMs: number;
  /**
   * The app's Redis, where read-your-writes fences are shared by every process and instance;
   * unset, each process knows only its own clients' writes.
   */
  redisConnection?: RedisConnectionOptions;
  /** Most connections of the pool. */
  poolMax: number;
  poolMin: number;
  poolIdleMs: number;
  connectTimeoutMs: number;
  statementTimeoutMs: number;
  /** Uses after which a connection is replaced. */
  poolMaxUses: number;
  /** Folder of the embedded cluster's data. */
  embeddedDataDir: string;
  /** Apply pending migrations at start. */
  migrationsRun: boolean;
}

/** Options of {@link DatabaseModule}. */
export interface DatabaseModuleOptions {
  /** Connection and pool settings (`DATABASE_URL`, `DB_POOL_*`… in docs/configuration.md). */
  config: DatabaseConnectionOptions;
  /** Entity classes of the application. */
  // eslint-disable-next-line @typescript-eslint/no-unsafe-function-type
  entities: MixedList<Function>;
  /** Migration classes, applied in order when `config.migrationsRun` is on. */
  // eslint-disable-next-line @typescript-eslint/no-unsafe-function-type
  migrations: MixedList<Function>;
  /**
   * Queries slower than this are logged at `warn`.
   * @default 200
   */
  slowQueryMs?: number;
}

/** Connection counts of the primary's pool. */
export interface DatabasePoolStats {
  total: number;
  idle: number;
  waiting: number;
}

/** Options of `DatabaseService.openDedicatedPool()`. */
export interface DedicatedPoolOptions {
  /**
   * Names the pool in readiness details and logs.
   * @example 'export'
   */
  name: string;
  /** Connections at most; one more is refused at once, never queued. */
  max: number;
  /**
   * Server-side statement timeout of its connections, in milliseconds (the client-side query
   * timeout is a second longer). A cursor read as slowly as its client reads needs far more
   * than the application's `DB_STATEMENT_TIMEOUT_MS`.
   */
  statementTimeoutMs: number;
  /**
   * Connect each time to a read replica in the rotation, as `DatabaseService.onReplica()`
   * picks it (the primary when none can serve): for reads that tolerate replication lag.
   * @default false
   */
  replica?: boolean;
}

/** Use of a dedicated pool. */
export interface DedicatedPoolStats {
  name: string;
  max: number;
  /** Connections checked out or being opened. */
  inUse: number;
}

/**
 * Where a replica stands: `in rotation` serves reads; `starting` (not probed yet, or its pool
 * still connecting), `lagging` (replay further behind than the maximum lag), `unreachable`
 * and `not a standby` (not in recovery: promoted, or not a replica at all) do not.
 */
export type DatabaseReplicaState =
  'starting' | 'in rotation' | 'lagging' | 'unreachable' | 'not a standby';

/** A read replica's state, replay lag and pool, for readiness details and metrics. */
export interface DatabaseReplicaStats {
  /** `host:port/database`. */
  name: string;
  state: DatabaseReplicaState;
  /** Age of the oldest primary WAL position it has not replayed; unset when unknown. */
  lagMs?: number;
  pool: DatabasePoolStats;
}

/** Options of `DatabaseService.inTransaction()`. */
export interface TransactionOptions {
  /**
   * Milliseconds the whole transaction may take; past it, it is rolled back and its
   * connection returns to the pool, even if the caller still hangs.
   * @default twice `DB_STATEMENT_TIMEOUT_MS`
   */
  timeoutMs?: number;
  /**
   * Milliseconds the server lets the transaction sit between two statements before it ends
   * the session: how long its row locks can outlive a caller that vanished (its host lost
   * without a goodbye). At most half the statement timeout, so that statements queued for
   * those locks still have time to run.
   * @default 1_000
   */
  idleTimeoutMs?: number;
}
