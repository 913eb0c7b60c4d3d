import { DataSource } from 'typeorm';
import { EMBEDDED_DATABASE_NAME } from './database.constants';
import { buildDataSourceOptions } from './database.options';
import { EmbeddedPostgres } from './embedded-postgres';
import { DatabaseConnectionOptions, DatabaseModuleOptions } from './interfaces';

/**
 * A data source for scripts outside Nest (TypeORM CLI, seeding): the configured primary, or
 * the embedded cluster. A cluster already running (the app's) is used and left running; one
 * started here lasts for the process and stops at its exit.
 */
export async function createStandaloneDataSource(
  config: DatabaseConnectionOptions,
  schema: Omit<DatabaseModuleOptions, 'config'>,
): Promise<DataSource> {
  let url = config.url;
  if (!url) {
    const embedded = new EmbeddedPostgres({
      dataDir: config.embeddedDataDir,
      database: EMBEDDED_DATABASE_NAME,
      attach: true,
    });
    url = await embedded.start();
    process.once('exit', () => embedded.stopSync());
  }
  return new DataSource(buildDataSourceOptions({ ...schema, config }, url));
}
