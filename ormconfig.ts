import { parseEnvironment } from '@app/config';
import { createStandaloneDataSource } from '@app/database';
import { ENTITIES, MIGRATIONS } from './src/database/schema';

/**
 * Data source of the TypeORM CLI (`npm run migration:run`, `migration:revert`,
 * `migration:generate`): the same configuration function and schema as the app. Without
 * `DATABASE_URL` it works on the embedded cluster.
 */
export default createStandaloneDataSource(
  parseEnvironment(),
  { entities: ENTITIES, migrations: MIGRATIONS },
  { migrationsRun: false },
);
