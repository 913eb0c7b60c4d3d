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
import { evaluateTarget, type ResultRow, type ScenarioOutcome, type TargetResult } from '../report';
import { formatNumber, formatRatio, type Target } from '../stats';
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

/**
 * Tracing, off in the reference (no endpoint set), turned on at a sampling ratio: spans over
 * OTLP/HTTP (protobuf, the SDK's default) to a sink the bench starts, which discards them.
 */
export interface TracingVariant {
  variant: string;
  /** `OTEL_TRACES_SAMPLER_ARG` of `parentbased_traceidratio`. */
  samplerArg: string;
}

export const TRACING_VARIANTS: readonly TracingVariant[] = [
  { variant: 'tracing on, 10 % sampled', samplerArg: '0.1' },
  { variant: 'tracing on, 100 % sampled', samplerArg: '1' },
];

/** The issue's budget for tracing at 10 % sampling, in percent of the reference's req/s. */
const TRACING_BUDGET: Target = { kind: 'at most', value: 5, unit: ' %' };

export const tracingEnv = (sink: BenchProcess, samplerArg: string): Record<string, string> => ({
  OTEL_EXPORTER_OTLP_ENDPOINT: sink.url,
  OTEL_TRACES_SAMPLER: 'parentbased_traceidratio',
  OTEL_TRACES_SAMPLER_ARG: samplerArg,
});

const describeTracing = ({ samplerArg }: TracingVariant) =>
  `OTEL_TRACES_SAMPLER=parentbased_traceidratio, OTEL_TRACES_SAMPLER_ARG=${samplerArg}, exported to a sink that discards`;

/** The sink, then one app per tracing variant exporting to it. */
function tracingProcesses(ctx: BenchContext): Promise<BenchProcess>[] {
  const sink = ctx.startPeer('otlp-sink', 'bench/peers/otlp-sink.js', {}, '/');
  return [
    sink,
    ...TRACING_VARIANTS.map((v) =>
      sink.then((started) =>
        ctx.startApp(`tracing-${v.samplerArg}`, tracingEnv(started, v.samplerArg)),
      ),
    ),
  ];
}

/** `ratio` is req/s with tracing over req/s without; the share of req/s tracing costs. */
export function tracingCostPercent(ratio: number): number {
  return Number.isFinite(ratio) ? Math.max(0, (1 - ratio) * 100) : NaN;
}

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

/** One process per switch that is a configuration variable, and the tracing ones. */
export function overheadProcesses(ctx: BenchContext): Promise<BenchProcess>[] {
  return [
    ...FEATURE_SWITCHES.filter(
      (s) => 'variable' in s.off && unavailability(ctx, s) === undefined,
    ).map((s) => processFor(ctx, s)),
    ...tracingProcesses(ctx),
  ];
}

/**
 * 7. The overhead budget: the cached read with all features on, then with one switched off
 * at a time. `1.10× all on` means the app is 10 % faster without that feature, so the
 * feature costs about 9 % of the throughput. Then tracing, off by default, switched on at 10 %
 * and 100 % sampling: `0.95× all on` means it costs 5 %.
 */
export async function overhead(ctx: BenchContext): Promise<ScenarioOutcome> {
  const unavailable = new Map<FeatureSwitch, string>();
  for (const s of FEATURE_SWITCHES) {
    const why = unavailability(ctx, s);
    if (why !== undefined) unavailable.set(s, why);
  }
  const measurable = FEATURE_SWITCHES.filter((s) => !unavailable.has(s));
  const ownProcesses = overheadProcesses(ctx);
  const [, ...tracingApps] = tracingProcesses(ctx);
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
    const untraced = new Set<TracingVariant>();
    for (const [i, v] of TRACING_VARIANTS.entries()) {
      const app = await tracingApps[i];
      // every traced response names its trace, sampled or not
      if ((await httpGet(app, ROUTE, HEADERS)).headers.has('traceresponse')) {
        contenders.push({
          name: v.variant,
          target: app,
          load: { path: ROUTE, headers: { ...HEADERS } },
        });
      } else {
        untraced.add(v);
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
    const targets: TargetResult[] = [];
    for (const v of TRACING_VARIANTS) {
      if (untraced.has(v)) {
        rows.push({
          variant: v.variant,
          status: 'no switch',
          more: `${describeTracing(v)}: no traceresponse header, tracing did not start`,
        });
        continue;
      }
      const ratio = throughputRatio(samples, v.variant, ALL_ON);
      const cost = tracingCostPercent(ratio);
      const target =
        v === TRACING_VARIANTS[0]
          ? evaluateTarget(
              'tracing at 10 % sampling: share of req/s it costs',
              TRACING_BUDGET,
              cost,
            )
          : undefined;
      if (target) targets.push(target);
      rows.push(
        throughputRow(v.variant, samples.get(v.variant)!, {
          ratio: formatRatio(ratio, 'all on'),
          target: target?.cell,
          more: `${describeTracing(v)}; ${
            cost > 0
              ? `tracing costs ≈ ${formatNumber(cost)} % of req/s`
              : 'no measurable cost (on was not slower)'
          }`,
        }),
      );
    }
    return {
      rows,
      targets,
      notes: [
        'Requests send `Accept-Encoding: gzip, deflate, br` here (unlike scenario 1), so ' +
          'compression does its work on the answer and its cost shows. Compression is turned ' +
          'off per request (`x-no-compression`, which the app honours), on the same process.',
        'Tracing is off in the reference (no `OTEL_EXPORTER_OTLP_ENDPOINT`); its rows start it ' +
          'with a parent-based ratio sampler and export over OTLP/HTTP to a sink the bench runs, ' +
          'which discards the spans, so they show what tracing costs the app alone.',
      ],
      chart: chartBars('7 · overhead budget, cached read (req/s)', rows),
    };
  });
}
