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
const HEADERS: Readonly<Record<string, string>> = { 'accept-encoding': 'gzip, deflate, br' };
const ALL_ON = 'everything on';

/**
 * One cross-cutting feature and how it is turned off: a configuration variable (measured on
 * another process) or a request header the app honours (measured on the full stack itself).
 */
export interface FeatureSwitch {
  feature: keyof StackFeatures;
  off: { variable: string; value: string } | { header: string; value: string };
  /** Whether `app`, asked with `headers`, really runs without the feature (checked first). */
  isOff(app: BenchProcess, headers: Record<string, string>): Promise<boolean>;
}

/**
 * The switches the bench uses. `LOG_LEVEL` and `x-no-compression` (contract, cross-cutting)
 * exist; `METRICS_ENABLED` and `RATE_LIMIT_ENABLED` are picked up as soon as
 * `parseEnvironment` validates them.
 */
export const FEATURE_SWITCHES: readonly FeatureSwitch[] = [
  {
    feature: 'requestLogs',
    off: { variable: 'LOG_LEVEL', value: 'silent' },
    isOff: async (app, headers) => {
      for (let i = 0; i < 20; i++) await httpGet(app, ROUTE, headers);
      return !(await logsRequest(app.logFile, ROUTE));
    },
  },
  {
    feature: 'metrics',
    off: { variable: 'METRICS_ENABLED', value: 'false' },
    isOff: async (app) => (await httpGet(app, '/metrics')).status === 404,
  },
  {
    feature: 'limiter',
    off: { variable: 'RATE_LIMIT_ENABLED', value: 'false' },
    isOff: async (app, headers) =>
      !hasRateLimitHeaders((await httpGet(app, ROUTE, headers)).headers),
  },
  {
    feature: 'compression',
    off: { header: 'x-no-compression', value: '1' },
    isOff: async (app, headers) =>
      !(await httpGet(app, ROUTE, headers)).headers.has('content-encoding'),
  },
];

const variantName = (s: FeatureSwitch) => `${FEATURE_LABELS[s.feature]} off`;
const describeOff = ({ off }: FeatureSwitch) =>
  'variable' in off
    ? `${off.variable}=${off.value}`
    : `request header \`${off.header}: ${off.value}\``;

/** `ratio` is req/s without the feature over req/s with it. */
export function costOf(ratio: number): string {
  if (!Number.isFinite(ratio)) return 'cost not measured';
  if (ratio <= 1) return 'no measurable cost (off was not faster)';
  return `the feature costs ≈ ${formatNumber((1 - 1 / ratio) * 100)} % of req/s`;
}

/** Why a switch cannot be measured, or `undefined` when it can. */
function unavailability(ctx: BenchContext, s: FeatureSwitch): ResultRow['more'] {
  if (!ctx.features[s.feature]) return `no ${FEATURE_LABELS[s.feature]} in the app (probed)`;
  if ('variable' in s.off && !configSwitchExists(s.off.variable)) {
    return `the feature is on with no way to turn it off; \`${s.off.variable}=${s.off.value}\` would be used`;
  }
  return undefined;
}

/** The process each configuration switch needs; header switches need none. */
function processFor(ctx: BenchContext, s: FeatureSwitch): Promise<BenchProcess> {
  if (!('variable' in s.off)) return Promise.resolve(ctx.full);
  return ctx.startApp(`without-${s.feature}`, { [s.off.variable]: s.off.value });
}

/** One process per switch that is a configuration variable. */
export function overheadProcesses(ctx: BenchContext): Promise<BenchProcess>[] {
  return FEATURE_SWITCHES.filter(
    (s) => 'variable' in s.off && unavailability(ctx, s) === undefined,
  ).map((s) => processFor(ctx, s));
}

/**
 * 7. The overhead budget: the cached read with all features on, then with one switched off
 * at a time. `1.10× all on` means the app is 10 % faster without that feature, so the
 * feature costs about 9 % of the throughput.
 */
export async function overhead(ctx: BenchContext): Promise<ScenarioOutcome> {
  const unavailable = new Map<FeatureSwitch, string>();
  for (const s of FEATURE_SWITCHES) {
    const why = unavailability(ctx, s);
    if (why !== undefined) unavailable.set(s, why);
  }
  const measurable = FEATURE_SWITCHES.filter((s) => !unavailable.has(s));
  const ownProcesses = overheadProcesses(ctx);
  return withProcesses(ownProcesses, async () => {
    const contenders: ThroughputContender[] = [
      { name: ALL_ON, target: ctx.full, load: { path: ROUTE, headers: { ...HEADERS } } },
    ];
    for (const s of measurable) {
      const app = await processFor(ctx, s);
      const headers =
        'header' in s.off ? { ...HEADERS, [s.off.header]: s.off.value } : { ...HEADERS };
      if (await s.isOff(app, headers)) {
        contenders.push({ name: variantName(s), target: app, load: { path: ROUTE, headers } });
      } else {
        unavailable.set(s, `${describeOff(s)} did not turn it off`);
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
        rows.push(
          ctx.features[s.feature]
            ? { variant: name, status: 'no switch', more: why }
            : notBuilt(name, why),
        );
        continue;
      }
      const ratio = throughputRatio(samples, name, ALL_ON);
      rows.push(
        throughputRow(name, samples.get(name)!, {
          ratio: formatRatio(ratio, 'all on'),
          more: `${describeOff(s)}; ${costOf(ratio)}`,
        }),
      );
    }
    return {
      rows,
      targets: [],
      notes: [
        'Requests send `Accept-Encoding: gzip, deflate, br` here (unlike scenario 1), so ' +
          'compression does its work on the answer and its cost shows. Compression is turned ' +
          'off per request (`x-no-compression`, which the app honours), on the same process.',
      ],
      chart: chartBars('7 · overhead budget, cached read (req/s)', rows),
    };
  });
}
