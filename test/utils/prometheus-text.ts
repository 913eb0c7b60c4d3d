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

/** A sample of an OpenMetrics scrape that carries an exemplar. */
export interface ExemplarSample extends Sample {
  exemplar: { labels: Record<string, string>; value: number; timestamp?: number };
}

/** `name{labels} value # {exemplar labels} value [timestamp]`, OpenMetrics' exemplar syntax. */
const EXEMPLAR_SAMPLE =
  /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{((?:[^"}]|"(?:[^"\\]|\\.)*")*)\})? (\S+) # \{((?:[^"}]|"(?:[^"\\]|\\.)*")*)\} (\S+)(?: (\S+))?$/;

/** The samples of an OpenMetrics scrape that carry an exemplar. */
export function parseExemplars(text: string): ExemplarSample[] {
  const labelsOf = (text: string) =>
    Object.fromEntries([...text.matchAll(LABEL)].map(([, key, value]) => [key, value]));
  const samples: ExemplarSample[] = [];
  for (const line of text.split('\n')) {
    const match = EXEMPLAR_SAMPLE.exec(line);
    if (!match) continue;
    samples.push({
      name: match[1],
      labels: labelsOf(match[2] ?? ''),
      value: Number(match[3]),
      exemplar: {
        labels: labelsOf(match[4]),
        value: Number(match[5]),
        timestamp: match[6] === undefined ? undefined : Number(match[6]),
      },
    });
  }
  return samples;
}

/** `name` → type, from the `# TYPE` lines of a scrape. */
export function metricTypes(text: string): Map<string, string> {
  const types = new Map<string, string>();
  for (const [, name, type] of text.matchAll(/^# TYPE (\S+) (\S+)$/gm)) types.set(name, type);
  return types;
}

/** Metric names a PromQL text selects (`name{…}`); `up` is Prometheus' own. */
export function selectedMetrics(promql: string): string[] {
  const names = [...promql.matchAll(/([a-zA-Z_:][a-zA-Z0-9_:]*)\{/g)].map((match) => match[1]);
  return [...new Set(names)].filter((name) => name !== 'up');
}

/**
 * The metrics only an app with read replicas (`DATABASE_REPLICA_URLS`) exposes;
 * test/database/streaming-replicas.e2e-spec.ts checks the alert rules' use of them.
 */
export const REPLICA_METRIC = /^db_replica_/;

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
