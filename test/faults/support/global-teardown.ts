import { mkdir, rm, writeFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { stopEmbeddedTestDatabase } from '../../setup/global-teardown';
import { readRecords, renderReport, renderSummaryTable, RESULTS_DIR_ENV } from './report';

const REPORT_FILE = resolve(__dirname, '..', '..', '..', 'reports', 'faults.md');

/** Prints the summary table and writes `reports/faults.md`, then the e2e teardown. */
export default async function faultsGlobalTeardown(): Promise<void> {
  const dir = process.env[RESULTS_DIR_ENV];
  try {
    if (!dir) return;
    const records = readRecords(dir);
    if (records.length === 0) return;
    const context = process.env.REDIS_URL ? 'server run' : 'zero-config run';
    await mkdir(resolve(REPORT_FILE, '..'), { recursive: true });
    await writeFile(REPORT_FILE, `${renderReport(records, context)}\n`);
    process.stdout.write(`\nFault scenarios (${REPORT_FILE}):\n${renderSummaryTable(records)}\n`);
  } finally {
    if (dir) await rm(dir, { recursive: true, force: true });
    await stopEmbeddedTestDatabase();
  }
}
