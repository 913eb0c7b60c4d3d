import 'tsconfig-paths/register';
import { EmbeddedPostgres } from '@app/database';
import {
  migratedDataSource,
  TEST_EMBEDDED_DATA_DIR,
  TEST_EMBEDDED_DATABASE,
} from './test-database';

declare global {
  var embeddedPostgresForTests: EmbeddedPostgres | undefined;
}

/**
 * Once per run: picks the test database (the embedded cluster when `DATABASE_URL` is unset),
 * refuses one whose name lacks "test", and applies the migrations.
 */
export default async function globalSetup(): Promise<void> {
  if (!process.env.DATABASE_URL) {
    const embedded = new EmbeddedPostgres({
      dataDir: TEST_EMBEDDED_DATA_DIR,
      database: TEST_EMBEDDED_DATABASE,
    });
    process.env.DATABASE_URL = await embedded.start();
    globalThis.embeddedPostgresForTests = embedded;
  }
  const url = process.env.DATABASE_URL;
  const database = new URL(url).pathname.slice(1);
  if (!database.includes('test')) {
    throw new Error(`Refusing to run e2e tests on database "${database}": its name lacks "test"`);
  }
  await (await migratedDataSource(url)).destroy();
}
