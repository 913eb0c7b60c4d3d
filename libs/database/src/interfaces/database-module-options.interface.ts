import type { DatabaseConfig } from '@app/config';
import type { MixedList } from 'typeorm';

/** Options of {@link DatabaseModule}. */
export interface DatabaseModuleOptions {
  /** Connection and pool settings (contract §1), usually `config.get('database')`. */
  config: DatabaseConfig;
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
   * Connect to a read replica when any is configured (one chosen per process), else the
   * primary: for reads that tolerate replication lag.
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
