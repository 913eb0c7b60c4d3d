import { Inject, Injectable } from '@nestjs/common';
import { EMBEDDED_DATABASE_NAME } from './database.constants';
import { DATABASE_MODULE_OPTIONS } from './database.module-definition';
import { EmbeddedPostgres } from './embedded-postgres';
import { DatabaseModuleOptions } from './interfaces';

/**
 * Resolves the primary's URL: the configured one, or an embedded PostgreSQL started on
 * first use and stopped by {@link DatabaseService} after the pool has closed.
 */
@Injectable()
export class DatabaseServer {
  private embedded?: EmbeddedPostgres;
  private url?: Promise<string>;

  constructor(@Inject(DATABASE_MODULE_OPTIONS) private readonly options: DatabaseModuleOptions) {}

  primaryUrl(): Promise<string> {
    this.url ??= this.resolveUrl();
    return this.url;
  }

  async stopEmbedded(): Promise<void> {
    await this.embedded?.stop();
  }

  private async resolveUrl(): Promise<string> {
    const { config } = this.options;
    if (config.url) return config.url;
    this.embedded = new EmbeddedPostgres({
      dataDir: config.embeddedDataDir,
      database: EMBEDDED_DATABASE_NAME,
    });
    return this.embedded.start();
  }
}
