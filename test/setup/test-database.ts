import { resolve } from 'node:path';
import { DataSource } from 'typeorm';
import { buildDataSourceOptions } from '@app/database';
import { parseEnvironment } from '../../src/config/environment';
import { ENTITIES, MIGRATIONS } from '../../src/database/schema';

/**
 * Each zero-config run gets its own embedded cluster (about 1 s to create), so runs in
 * parallel never stop each other's database; the teardown removes it.
 */
export const TEST_EMBEDDED_DATA_DIR = resolve(
  __dirname,
  '..',
  '..',
  '.data',
  `postgres-test-${process.pid}`,
);
export const TEST_EMBEDDED_DATABASE = 'loadstar_test';

/** A data source on `url` with the migrations applied, initialized: the caller destroys it. */
export async function migratedDataSource(url: string): Promise<DataSource> {
  const config = parseEnvironment({ ...process.env, DATABASE_URL: url });
  const dataSource = new DataSource(
    buildDataSourceOptions(
      { config: config.database, entities: ENTITIES, migrations: MIGRATIONS },
      url,
    ),
  );
  await dataSource.initialize();
  await dataSource.runMigrations();
  return dataSource;
}
