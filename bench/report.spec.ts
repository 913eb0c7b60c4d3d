import { evaluateTarget, renderMarkdown, RunInfo, ScenarioReport } from './report';

const run: RunInfo = {
  startedAt: new Date('2025-01-02T03:04:05Z'),
  durationS: 61.4,
  mode: 'full',
  rounds: 3,
  warmupS: 2,
  measureS: 5,
  connections: 50,
  node: 'Node v20.20.0',
  cpus: '2 × Test CPU',
  loadBefore: [0.5, 0.4, 0.3],
  loadAfter: [1.5, 1.4, 1.3],
  database: 'db',
  redis: 'redis',
  seed: 'seed',
  build: 'build',
  features: ['cache ✓', 'metrics ✗ (not built)'],
};

const floor = evaluateTarget('full vs raw', { kind: 'at least', value: 0.5, unit: '×' }, 0.4);
const scenarios: ScenarioReport[] = [
  {
    id: 1,
    title: 'Floor',
    rows: [
      { variant: 'full', status: 'ok', ratio: '0.4× raw', target: floor.cell, reqPerSec: 4000 },
      { variant: 'raw', status: 'ok', ratio: '1× (reference)', reqPerSec: 10_000, p99Ms: 3 },
    ],
    targets: [floor],
    notes: ['a note'],
    chart: [],
  },
  {
    id: 6,
    title: 'Scale',
    rows: [{ variant: 'cluster', status: 'not built', more: 'no cluster yet' }],
    targets: [],
    notes: [],
    chart: [],
  },
];

describe('bench report', () => {
  describe('evaluateTarget', () => {
    it('puts the target and its verdict in one cell', () => {
      expect(floor.cell).toBe('≥ 0.5×: missed by 20 %');
      expect(floor.check.met).toBe(false);
    });
  });

  describe('renderMarkdown', () => {
    const markdown = renderMarkdown(run, scenarios);

    it('leads the table with the ratio and names the scenario on its first row only', () => {
      expect(markdown).toContain(
        '| # | scenario | variant | ratio | target | req/s | p50 ms | p99 ms | RSS MB | more |',
      );
      expect(markdown).toContain(
        '| 1 | Floor | full | 0.4× raw | ≥ 0.5×: missed by 20 % | 4\u2009000 | – | – | – |  |',
      );
      expect(markdown).toContain(
        '|  |  | raw | 1× (reference) |  | 10\u2009000 | – | 3.00 | – |  |',
      );
    });

    it('shows a feature that is not there as not built, with the reason', () => {
      expect(markdown).toContain('| 6 | Scale | cluster |');
      expect(markdown).toContain('**not built** — no cluster yet |');
    });

    it('lists every target with its verdict, and the notes by scenario', () => {
      expect(markdown).toContain(
        '- ❌ **1. full vs raw**: 0.400× (target ≥ 0.5×) — missed by 20 %',
      );
      expect(markdown).toContain('- **1.** a note');
    });

    it('says that the load generator shares the cores, and what was probed', () => {
      expect(markdown).toContain('load generator runs on the same cores');
      expect(markdown).toContain('cache ✓ · metrics ✗ (not built)');
      expect(markdown).toContain('![benchmark chart](bench.png)');
    });

    it('marks a quick run as a smoke check', () => {
      expect(markdown).not.toContain('Quick run');
      expect(renderMarkdown({ ...run, mode: 'quick' }, scenarios)).toContain(
        '**Quick run** (`--quick`): a smoke check',
      );
    });
  });
});
