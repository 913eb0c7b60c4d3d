import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** One sample of Prometheus' text format. */
export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

const SAMPLE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)/;
const LABEL = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g;

/** The samples of a scrape (comment lines skipped). */
export function parseSamples(text: string): Sample[] {
  const samples: Sample[] = [];
  for (const line of text.split('\n')) {
    const match = SAMPLE.exec(line);
    if (!match) continue;
    const labels: Record<string, string> = {};
    for (const [, key, value] of (match[2] ?? '').matchAll(LABEL)) labels[key] = value;
    samples.push({ name: match[1], labels, value: Number(match[3]) });
  }
  return samples;
}

/** `name` → type, from the `# TYPE` lines of a scrape. */
export function metricTypes(text: string): Map<string, string> {
  const types = new Map<string, string>();
  for (const [, name, type] of text.matchAll(/^# TYPE (\S+) (\S+)$/gm)) types.set(name, type);
  return types;
}

/** Whether `promtool` (Debian package `prometheus`) is on the PATH. */
export function hasPromtool(): boolean {
  return spawnSync('promtool', ['--version'], { stdio: 'ignore' }).status === 0;
}

/**
 * Runs `promtool <args…>`, with `input` on stdin, or written to a temporary file named
 * `inputFile` whose path is appended to the arguments (`check rules` reads files only).
 */
export function promtool(
  args: string[],
  input = '',
  inputFile?: string,
): { status: number | null; output: string } {
  const dir = inputFile ? mkdtempSync(join(tmpdir(), 'loadstar-promtool-')) : undefined;
  try {
    const file = dir && inputFile ? join(dir, inputFile) : undefined;
    if (file) writeFileSync(file, input);
    const run = spawnSync('promtool', file ? [...args, file] : args, {
      input: file ? '' : input,
      encoding: 'utf8',
    });
    return { status: run.status, output: `${run.stdout}${run.stderr}` };
  } finally {
    if (dir) rmSync(dir, { recursive: true, force: true });
  }
}
