import { mkdirSync, writeFileSync } from 'node:fs';
import { basename, join, relative, resolve } from 'node:path';
import pino from 'pino';
import type { DestinationStream } from 'pino';

const REPO_ROOT = resolve(__dirname, '..', '..');

/**
 * Where the apps of a test run write their logs, so that they stay out of the test output:
 * `.data/test-logs/`, or `TEST_LOGS_DIR` (relative to the repository), which keeps the logs of
 * runs at the same time apart (.ci/run's two lanes).
 */
export const TEST_LOGS_DIR = resolve(REPO_ROOT, process.env.TEST_LOGS_DIR ?? '.data/test-logs');

/** Files this test file has written to already (each test file has its own module registry). */
const started = new Set<string>();

/**
 * The log file of an app the running test file starts: `<TEST_LOGS_DIR>/<spec>[.<name>].log`,
 * emptied on the test file's first use of it.
 */
export function testLogFile(name?: string): string {
  mkdirSync(TEST_LOGS_DIR, { recursive: true });
  const spec = basename(expect.getState().testPath ?? 'tests');
  return join(TEST_LOGS_DIR, name ? `${spec}.${name}.log` : `${spec}.log`);
}

/** A pino destination appending to {@link testLogFile} (emptied on first use per test file). */
export function testLogDestination(name?: string): DestinationStream {
  const file = testLogFile(name);
  if (!started.has(file)) writeFileSync(file, '');
  started.add(file);
  // always O_APPEND: two apps of one test file share the file, and a descriptor writing at its
  // own offset would overwrite the other's lines
  return pino.destination({ dest: file, append: true, sync: true });
}

/** The path of a test log as printed in messages: relative to the repository. */
export function shownLogPath(file: string): string {
  return relative(REPO_ROOT, file);
}
