import { Logger } from '@nestjs/common';
import type { DataSourceOptions } from 'typeorm';
import { DEFAULT_SLOW_QUERY_MS, QUERY_TIMEOUT_MARGIN_MS } from './database.constants';
import { DatabaseLogger } from './database.logger';
import { DatabaseModuleOptions } from './interfaces';

const poolLogger = new Logger('DatabasePool');

/**
 * TypeORM options from loadstar's configuration. Pool settings go through `extra` to
 * `pg.Pool`; the server-side timeouts are set per connection so that no statement and no
 * forgotten transaction can hold a connection for long.
 *
 * @param primaryUrl the primary's URL (the embedded cluster's when `config.url` is unset)
 */
export function buildDataSourceOptions(
  options: DatabaseModuleOptions,
  primaryUrl: string,
): DataSourceOptions {
  const { config } = options;
  const replicas = config.replicaUrls.map((url) => ({ url }));
  return {
    type: 'postgres',
    ...(replicas.length > 0
      ? { replication: { master: { url: primaryUrl }, slaves: replicas, defaultMode: 'master' } }
      : { url: primaryUrl }),
    entities: options.entities,
    migrations: options.migrations,
    migrationsRun: config.migrationsRun,
    migrationsTransactionMode: 'each',
    synchronize: false,
    applicationName: 'loadstar',
    connectTimeoutMS: config.connectTimeoutMs,
    maxQueryExecutionTime: options.slowQueryMs ?? DEFAULT_SLOW_QUERY_MS,
    logger: new DatabaseLogger(),
    poolErrorHandler: (error: Error) =>
      poolLogger.warn({ err: error }, 'idle database connection failed; the pool replaces it'),
    extra: {
      max: config.poolMax,
      min: config.poolMin,
      idleTimeoutMillis: config.poolIdleMs,
      connectionTimeoutMillis: config.connectTimeoutMs,
      maxUses: config.poolMaxUses,
      statement_timeout: config.statementTimeoutMs,
      query_timeout: config.statementTimeoutMs + QUERY_TIMEOUT_MARGIN_MS,
      idle_in_transaction_session_timeout: config.statementTimeoutMs * 2,
    },
  };
}
