import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import e2eGlobalSetup from '../../setup/global-setup';
import { RESULTS_DIR_ENV } from './report';

/**
 * The e2e setup (test database, migrations), then a folder for the scenarios' records, handed
 * to the suites through the environment.
 */
export default async function faultsGlobalSetup(): Promise<void> {
  await e2eGlobalSetup();
  process.env[RESULTS_DIR_ENV] = await mkdtemp(join(tmpdir(), 'loadstar-faults-'));
}
