import type { LoadstarConfig } from '@app/config';
import { DataSource } from 'typeorm';
import { EMBEDDED_DATABASE_NAME } from './database.constants';
import { buildDataSourceOptions } from './database.options';
import { EmbeddedPostgres } from './embedded-postgres';
import { DatabaseModuleOptions } from './interfaces';

/**
 * A data source for scripts outside Nest (TypeORM CLI, seeding): the configured primary, or
 * the embedded cluster started for the duration of the process and stopped at its exit.
 */
export async function createStandaloneDataSource(
  config: LoadstarConfig,
  schema: Omit<DatabaseModuleOptions, 'config'>,
  overrides: Partial<LoadstarConfig['database']> = {},
): Promise<DataSource> {
  let url = config.database.url;
  if (!url) {
    const embedded = new EmbeddedPostgres({
      dataDir: config.database.embeddedDataDir,
      database: EMBEDDED_DATABASE_NAME,
    });
    url = await embedded.start();
    process.once('exit', () => embedded.stopSync());
  }
  return new DataSource(
    buildDataSourceOptions({ ...schema, config: { ...config.database, ...overrides } }, url),
  );
}
