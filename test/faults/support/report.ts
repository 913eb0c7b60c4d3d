import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { LoadResult, statusCounts } from './load';

/** Environment variable naming the folder where each suite leaves its scenario records. */
export const RESULTS_DIR_ENV = 'FAULTS_RESULTS_DIR';

type Outcome = 'passed' | 'FAILED' | 'not covered';

/** One row of the summary, as a suite leaves it on disk for the global teardown. */
export interface ScenarioRecord {
  order: number;
  scenario: string;
  outcome: Outcome;
  requests: number;
  statusCounts: Record<string, number>;
  fiveXx: number;
  /** Acknowledged writes missing afterwards, or rows changed that no valid request changed. */
  lost: number | null;
  recoveryMs: number | null;
  notes: string[];
  failed: string[];
  notCovered: string[];
}

/**
 * Collects what a scenario measured and which of its checks passed, failed or could not run
 * (because the feature they test is not in the tree yet), and writes it when the suite ends.
 * Checks are Jest tests: a missing feature makes its check a skipped test, never a pass.
 */
export class ScenarioReport {
  private readonly record: ScenarioRecord;
  private setupCompleted = false;
  private checks = 0;

  constructor(order: number, scenario: string) {
    this.record = {
      order,
      scenario,
      outcome: 'passed',
      requests: 0,
      statusCounts: {},
      fiveXx: 0,
      lost: null,
      recoveryMs: null,
      notes: [],
      failed: [],
      notCovered: [],
    };
  }

  /** Counts a load's requests and statuses (5xx and no-response both count as 5xx). */
  addLoad(results: readonly LoadResult[]): void {
    this.addStatuses(Object.entries(statusCounts(results)));
  }

  addStatuses(entries: Iterable<[string, number]>): void {
    for (const [status, count] of entries) {
      this.record.requests += count;
      this.record.statusCounts[status] = (this.record.statusCounts[status] ?? 0) + count;
      if (Number(status) >= 500 || status === '0') this.record.fiveXx += count;
    }
  }

  set lost(count: number) {
    this.record.lost = (this.record.lost ?? 0) + count;
  }

  set recoveryMs(ms: number) {
    this.record.recoveryMs = Math.max(this.record.recoveryMs ?? 0, ms);
  }

  note(text: string): void {
    this.record.notes.push(text);
  }

  /** Runs the scenario's fault and load once, in `beforeAll`. */
  setup(work: () => Promise<void>, timeoutMs?: number): void {
    beforeAll(async () => {
      await work();
      this.setupCompleted = true;
    }, timeoutMs);
    afterAll(() => this.write());
  }

  /** A check (a Jest test) whose failure marks the scenario FAILED in the summary. */
  check(name: string, assertion: () => Promise<void> | void, timeoutMs?: number): void {
    this.checks++;
    it(
      name,
      async () => {
        try {
          await assertion();
        } catch (error) {
          this.record.failed.push(name);
          throw error;
        }
      },
      timeoutMs,
    );
  }

  /**
   * A check that runs only when `available`; otherwise it is a skipped test and the summary
   * lists it as not covered, with `missing` saying which feature is absent.
   */
  checkIf(
    available: boolean,
    missing: string,
    name: string,
    assertion: () => Promise<void> | void,
  ): void {
    if (available) {
      this.check(name, assertion);
      return;
    }
    this.record.notCovered.push(`${name} (${missing})`);
    it.skip(`${name} — NOT COVERED: ${missing}`, () => undefined);
  }

  private write(): void {
    const dir = process.env[RESULTS_DIR_ENV];
    if (!dir) return;
    if (this.checks === 0) this.record.outcome = 'not covered';
    else if (!this.setupCompleted || this.record.failed.length > 0) this.record.outcome = 'FAILED';
    if (!this.setupCompleted && this.checks > 0) this.record.failed.push('setup (fault and load)');
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, `${this.record.order}.json`), JSON.stringify(this.record));
  }
}

/** Every record the suites left, in scenario order. */
export function readRecords(dir: string): ScenarioRecord[] {
  return readdirSync(dir)
    .filter((name) => name.endsWith('.json'))
    .map((name) => JSON.parse(readFileSync(join(dir, name), 'utf8')) as ScenarioRecord)
    .sort((a, b) => a.order - b.order);
}

const formatMs = (ms: number | null) => (ms === null ? '—' : `${(ms / 1000).toFixed(2)} s`);

function formatStatuses(counts: Record<string, number>): string {
  return Object.entries(counts)
    .map(([status, count]) => `${status === '0' ? 'no response' : status}×${count}`)
    .join(', ');
}

/** The summary table (Markdown), one row per scenario. */
export function renderSummaryTable(records: readonly ScenarioRecord[]): string {
  const rows = records.map((r) =>
    [
      r.scenario,
      r.outcome,
      r.requests,
      r.fiveXx,
      r.lost ?? '—',
      formatMs(r.recoveryMs),
      formatStatuses(r.statusCounts) || '—',
    ].join(' | '),
  );
  return [
    '| scenario | outcome | requests | 5xx | lost | recovery | statuses |',
    '|---|---|---|---|---|---|---|',
    ...rows.map((row) => `| ${row} |`),
  ].join('\n');
}

/** The whole `reports/faults.md`: table, then per scenario its notes, failures and gaps. */
export function renderReport(records: readonly ScenarioRecord[], context: string): string {
  const details = records.flatMap((r) => [
    `### ${r.scenario} — ${r.outcome}`,
    '',
    ...r.notes.map((n) => `- ${n}`),
    ...r.failed.map((f) => `- **failed:** ${f}`),
    ...r.notCovered.map((c) => `- **not covered:** ${c}`),
    '',
  ]);
  return [
    '# Fault injection report',
    '',
    `Generated by \`npm run test:faults\` (${context}). Counts are per scenario; "5xx" includes`,
    'requests that got no response at all; "lost" counts acknowledged writes missing afterwards',
    '(or rows changed by no valid request); "recovery" is the time from the dependency being',
    'back (or the fault ending) to the app serving normally again, without a restart.',
    '',
    renderSummaryTable(records),
    '',
    '## Details',
    '',
    ...details,
  ].join('\n');
}
