import { existsSync, readdirSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { join, relative } from 'node:path';
import type { Config } from '@jest/types';
import { shownLogPath, TEST_LOGS_DIR } from '../utils/test-logs';
import { skippedSuites } from './skipped-suites';

/** Stops the embedded cluster of a zero-config run and removes its data. */
export async function stopEmbeddedTestDatabase(): Promise<void> {
  const embedded = globalThis.embeddedPostgresForTests;
  if (!embedded) return;
  await embedded.stop();
  await rm(embedded.dataDirectory, { recursive: true, force: true });
}

/**
 * The suites of this run that `pattern` left out, among those the run's path filter asked for.
 */
function suitesLeftOut(global: Config.GlobalConfig, rootDir: string, pattern: string): string[] {
  const ignored = new RegExp(pattern);
  const asked = global.testPathPattern ? new RegExp(global.testPathPattern, 'i') : undefined;
  const testDir = join(rootDir, 'test');
  return readdirSync(testDir, { recursive: true, encoding: 'utf8' })
    .map((file) => join(testDir, file))
    .filter((file) => file.endsWith('.e2e-spec.ts') && ignored.test(file))
    .filter((file) => !asked || asked.test(file))
    .map((file) => relative(rootDir, file))
    .sort();
}

/**
 * Ends the run: says which suites were skipped and why, and where the apps' logs went (they
 * are kept out of the test output), then stops the embedded database.
 */
export default async function globalTeardown(
  global: Config.GlobalConfig,
  project: Config.ProjectConfig,
): Promise<void> {
  const notes: string[] = [];
  for (const { pattern, reason } of skippedSuites(process.env)) {
    const files = suitesLeftOut(global, project.rootDir, pattern);
    if (files.length === 0) continue;
    notes.push(
      `Skipped ${files.length} suite(s): ${reason}`,
      ...files.map((file) => `  - ${file}`),
    );
  }
  if (existsSync(TEST_LOGS_DIR)) {
    notes.push(
      `Logs of the apps the tests started: ${shownLogPath(TEST_LOGS_DIR)}/<spec file>*.log`,
    );
  }
  if (notes.length > 0) process.stderr.write(`\n${notes.join('\n')}\n`);
  await stopEmbeddedTestDatabase();
}
