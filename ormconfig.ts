import { createStandaloneDataSource } from '@app/database';
import { parseEnvironment } from './src/config/environment';
import { ENTITIES, MIGRATIONS } from './src/database/schema';

/**
 * Data source of the TypeORM CLI (`npm run migration:run`, `migration:revert`,
 * `migration:generate`): the same configuration function and schema as the app. Without
 * `DATABASE_URL` it works on the embedded cluster.
 */
export default createStandaloneDataSource(
  { ...parseEnvironment().database, migrationsRun: false },
  { entities: ENTITIES, migrations: MIGRATIONS },
);
