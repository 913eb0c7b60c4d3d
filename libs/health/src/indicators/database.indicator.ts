import { Inject, Injectable, OnModuleDestroy } from '@nestjs/common';
import { HealthIndicatorService } from '@nestjs/terminus';
import { InjectDataSource } from '@nestjs/typeorm';
import { Client, ClientConfig } from 'pg';
import type { DataSource } from 'typeorm';
import type { PostgresConnectionOptions } from 'typeorm/driver/postgres/PostgresConnectionOptions';
import { CHECK, DEFAULT_PING_TIMEOUT_MS } from '../health.constants';
import { HEALTH_MODULE_OPTIONS } from '../health.module-definition';
import { withTimeout } from '../health.timeout';
import { HealthModuleOptions } from '../interfaces';

/** The primary's connection settings, as the application's data source was configured. */
function primaryConnection(primary: PostgresConnectionOptions): ClientConfig {
  if (primary.url) return { connectionString: primary.url };
  return {
    host: primary.host,
    port: primary.port,
    user: primary.username,
    password: primary.password,
    database: primary.database,
  };
}

/**
 * Pings the primary over one dedicated connection, never through the application's pool: an
 * exhausted pool (every connection busy, requests queueing) is load, not an outage, and a
 * probe waiting in that queue would report the wrong thing late. The connection is opened on
 * the first check and replaced after any failure, so the check recovers by itself once the
 * database is back.
 */
@Injectable()
export class DatabaseHealthIndicator implements OnModuleDestroy {
  private readonly connection: ClientConfig;
  private readonly timeoutMs: number;
  private current?: { client: Client; connected: Promise<unknown> };

  constructor(
    @InjectDataSource() dataSource: DataSource,
    @Inject(HEALTH_MODULE_OPTIONS) options: HealthModuleOptions,
    private readonly indicators: HealthIndicatorService,
  ) {
    this.connection = primaryConnection(dataSource.options as PostgresConnectionOptions);
    this.timeoutMs = options.pingTimeoutMs ?? DEFAULT_PING_TIMEOUT_MS;
  }

  async check() {
    const indicator = this.indicators.check(CHECK.database);
    const connection = this.connect();
    try {
      await withTimeout(
        connection.connected.then(() => connection.client.query('SELECT 1')),
        this.timeoutMs,
      );
      return indicator.up();
    } catch (error) {
      this.discard(connection.client);
      return indicator.down({ message: (error as Error).message });
    }
  }

  onModuleDestroy(): void {
    if (this.current) this.discard(this.current.client);
  }

  private connect(): { client: Client; connected: Promise<unknown> } {
    if (this.current) return this.current;
    const client = new Client({
      ...this.connection,
      application_name: 'loadstar-health',
      connectionTimeoutMillis: this.timeoutMs,
      query_timeout: this.timeoutMs,
      keepAlive: true,
    });
    // A connection that dies while idle (server restart) is replaced on the next check.
    client.on('error', () => this.discard(client));
    const current = { client, connected: client.connect() };
    this.current = current;
    return current;
  }

  private discard(client: Client): void {
    if (this.current?.client !== client) return;
    this.current = undefined;
    client.end().catch(() => undefined);
  }
}
