import type { BenchContext } from '../context';
import type { BenchProcess } from '../processes';
import {
  configSwitchExists,
  FEATURE_LABELS,
  hasRateLimitHeaders,
  httpGet,
  logsRequest,
  StackFeatures,
} from '../probes';
import type { ResultRow, ScenarioOutcome } from '../report';
import { formatNumber, formatRatio } from '../stats';
import {
  chartBars,
  compareThroughput,
  notBuilt,
  ThroughputContender,
  throughputRatio,
  throughputRow,
  withProcesses,
} from './common';

const ROUTE = '/api/users/1';
/** What browsers send, so compression does its work on the ≈ 1.1 KB answer. */
const HEADERS = { 'accept-encoding': 'gzip, deflate, br' };
const ALL_ON = 'everything on';

/** One cross-cutting feature and the switch that turns it off. */
export interface FeatureSwitch {
  feature: keyof StackFeatures;
  variable: string;
  off: string;
  /** Whether `app` really runs without the feature (checked before it is measured). */
  isOff(app: BenchProcess): Promise<boolean>;
}

/**
 * The switches the bench uses. `LOG_LEVEL` exists; the others are proposed names that the
 * scenario picks up as soon as `parseEnvironment` validates them.
 */
export const FEATURE_SWITCHES: readonly FeatureSwitch[] = [
  {
    feature: 'requestLogs',
    variable: 'LOG_LEVEL',
    off: 'silent',
    isOff: async (app) => {
      for (let i = 0; i < 20; i++) await httpGet(app, ROUTE);
      return !(await logsRequest(app.logFile, ROUTE));
    },
  },
  {
    feature: 'metrics',
    variable: 'METRICS_ENABLED',
    off: 'false',
    isOff: async (app) => (await httpGet(app, '/metrics')).status === 404,
  },
  {
    feature: 'limiter',
    variable: 'RATE_LIMIT_ENABLED',
    off: 'false',
    isOff: async (app) => !hasRateLimitHeaders((await httpGet(app, ROUTE)).headers),
  },
  {
    feature: 'compression',
    variable: 'COMPRESSION_ENABLED',
    off: 'false',
    isOff: async (app) => !(await httpGet(app, ROUTE, HEADERS)).headers.has('content-encoding'),
  },
];

const variantName = (s: FeatureSwitch) => `${FEATURE_LABELS[s.feature]} off`;

/** `ratio` is req/s without the feature over req/s with it. */
export function costOf(ratio: number): string {
  if (!Number.isFinite(ratio)) return 'cost not measured';
  if (ratio <= 1) return 'no measurable cost (off was not faster)';
  return `the feature costs ≈ ${formatNumber((1 - 1 / ratio) * 100)} % of req/s`;
}

/**
 * 7. The overhead budget: the cached read with all features on, then with one switched off
 * at a time. `1.10× all on` means the app is 10 % faster without that feature, so the
 * feature costs about 9 % of the throughput.
 */
export async function overhead(ctx: BenchContext): Promise<ScenarioOutcome> {
  const unavailable = new Map<FeatureSwitch, string>();
  for (const s of FEATURE_SWITCHES) {
    if (!ctx.features[s.feature]) {
      unavailable.set(s, `no ${FEATURE_LABELS[s.feature]} in the app yet`);
    } else if (!configSwitchExists(s.variable)) {
      unavailable.set(s, `no switch; proposed \`${s.variable}=${s.off}\``);
    }
  }
  const switchable = FEATURE_SWITCHES.filter((s) => !unavailable.has(s));
  return withProcesses(
    switchable.map((s) => ctx.startApp(`without-${s.feature}`, { [s.variable]: s.off })),
    async (apps) => {
      const contenders: ThroughputContender[] = [
        { name: ALL_ON, target: ctx.full, load: { path: ROUTE, headers: HEADERS } },
      ];
      for (const [index, s] of switchable.entries()) {
        if (await s.isOff(apps[index])) {
          contenders.push({
            name: variantName(s),
            target: apps[index],
            load: { path: ROUTE, headers: HEADERS },
          });
        } else {
          unavailable.set(s, `\`${s.variable}=${s.off}\` did not turn it off`);
        }
      }
      const samples = await compareThroughput(ctx, contenders);
      const rows: ResultRow[] = [
        throughputRow(ALL_ON, samples.get(ALL_ON)!, { ratio: '1× (reference)' }),
      ];
      for (const s of FEATURE_SWITCHES) {
        const name = variantName(s);
        const why = unavailable.get(s);
        if (why) {
          rows.push(notBuilt(name, why));
          continue;
        }
        const ratio = throughputRatio(samples, name, ALL_ON);
        rows.push(
          throughputRow(name, samples.get(name)!, {
            ratio: formatRatio(ratio, 'all on'),
            more: `${s.variable}=${s.off}; ${costOf(ratio)}`,
          }),
        );
      }
      return {
        rows,
        targets: [],
        notes: [
          'Requests send `Accept-Encoding: gzip, deflate, br` here (unlike scenario 1), so ' +
            'compression does its work on the answer and its cost shows.',
        ],
        chart: chartBars('7 · overhead budget, cached read (req/s)', rows),
      };
    },
  );
}
