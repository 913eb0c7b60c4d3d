import { resolve } from 'node:path';

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
