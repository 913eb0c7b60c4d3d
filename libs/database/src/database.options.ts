import { Logger } from '@nestjs/common';
import type { DataSourceOptions } from 'typeorm';
import { DEFAULT_SLOW_QUERY_MS, QUERY_TIMEOUT_MARGIN_MS } from './database.constants';
import { DatabaseLogger } from './database.logger';
import { DatabaseConnectionOptions, DatabaseModuleOptions } from './interfaces';

const poolLogger = new Logger('DatabasePool');

/**
 * `pg.Pool`'s `error` handler: an idle connection that fails (a server restart) is replaced;
 * without a handler the event would end the process.
 *
 * @internal
 */
export function onIdleConnectionError(error: Error): void {
  poolLogger.warn({ err: error }, 'idle database connection failed; the pool replaces it');
}

/**
 * Connection timeouts of every pool: the connect wait, and server-side limits so that no
 * statement and no forgotten transaction can hold a connection for long.
 *
 * @param statementTimeoutMs the pool's statement timeout, when not the application's
 */
export function connectionTimeouts(
  config: DatabaseConnectionOptions,
  statementTimeoutMs = config.statementTimeoutMs,
) {
  return {
    connectionTimeoutMillis: config.connectTimeoutMs,
    statement_timeout: statementTimeoutMs,
    query_timeout: statementTimeoutMs + QUERY_TIMEOUT_MARGIN_MS,
    idle_in_transaction_session_timeout: config.statementTimeoutMs * 2,
  };
}

/**
 * TypeORM options from loadstar's configuration. Pool settings go through `extra` to
 * `pg.Pool`, with the {@link connectionTimeouts} set per connection. Replicas get data sources
 * of their own (`DatabaseReplicas`), not TypeORM's replication, which connects to every
 * replica at start and picks one at random without knowing its lag.
 *
 * @param url the server's URL (the embedded cluster's when `config.url` is unset)
 */
export function buildDataSourceOptions(
  options: DatabaseModuleOptions,
  url: string,
): DataSourceOptions {
  const { config } = options;
  return {
    type: 'postgres',
    url,
    entities: options.entities,
    migrations: options.migrations,
    migrationsRun: config.migrationsRun,
    migrationsTransactionMode: 'each',
    synchronize: false,
    applicationName: 'loadstar',
    connectTimeoutMS: config.connectTimeoutMs,
    maxQueryExecutionTime: options.slowQueryMs ?? DEFAULT_SLOW_QUERY_MS,
    logger: new DatabaseLogger(),
    poolErrorHandler: onIdleConnectionError,
    extra: {
      max: config.poolMax,
      min: config.poolMin,
      idleTimeoutMillis: config.poolIdleMs,
      maxUses: config.poolMaxUses,
      ...connectionTimeouts(config),
    },
  };
}
