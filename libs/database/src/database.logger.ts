import { Logger } from '@nestjs/common';
import type { Logger as TypeOrmLogger } from 'typeorm';

/**
 * Sends TypeORM's errors and slow queries to the application log; ordinary queries are not
 * logged (that would cost more than the queries).
 */
export class DatabaseLogger implements TypeOrmLogger {
  private readonly logger = new Logger('Database');

  logQuery(): void {}

  /**
   * Constraint violations (SQLSTATE class 23) are expected: repositories turn them into
   * `409`/`404` answers, so they are only worth a debug line.
   */
  logQueryError(error: string | Error, query: string): void {
    const code = (error as { code?: unknown }).code;
    const log = typeof code === 'string' && code.startsWith('23') ? 'debug' : 'warn';
    this.logger[log]({ err: error, query: truncate(query) }, 'query failed');
  }

  logQuerySlow(durationMs: number, query: string): void {
    this.logger.warn({ durationMs, query: truncate(query) }, 'slow query');
  }

  logSchemaBuild(): void {}

  logMigration(message: string): void {
    this.logger.log(message);
  }

  log(level: 'log' | 'info' | 'warn', message: unknown): void {
    if (level === 'warn') this.logger.warn(message);
  }
}

function truncate(query: string): string {
  return query.length > 500 ? `${query.slice(0, 500)}…` : query;
}
