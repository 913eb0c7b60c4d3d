import { resolve } from 'node:path';

/** The e2e suite's own embedded cluster, apart from the one `npm start` uses. */
export const TEST_EMBEDDED_DATA_DIR = resolve(__dirname, '..', '..', '.data', 'postgres-test');
export const TEST_EMBEDDED_DATABASE = 'loadstar_test';
