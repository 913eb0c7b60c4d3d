import { readFile, rm } from 'node:fs/promises';
import { sleep } from '../../test/utils/net';
import type { BenchContext } from '../context';
import type { BenchProcess } from '../processes';
import { runLoad } from '../load';
import { describeProfile } from '../profile';
import { FEATURE_LABELS, httpGet, StackFeatures } from '../probes';
import { evaluateTarget, ScenarioOutcome } from '../report';
import { formatNumber, formatRatio } from '../stats';
import {
  chartBars,
  compareThroughput,
  throughputRatio,
  throughputRow,
  withProcesses,
} from './common';

const ROUTE = '/api/users/1';
const FULL = 'loadstar full stack';
const RAW = 'raw Fastify 5';
const BOILERPLATE = 'typical boilerplate';

/** The features that make up "the full production stack" of this scenario. */
const FULL_STACK_FEATURES: readonly (keyof StackFeatures)[] = [
  'requestId',
  'validation',
  'requestLogs',
  'metrics',
  'limiter',
  'limiterInRedis',
  'cache',
];

/** Same JSON, compared after a parse so that only content counts, not key spacing. */
const canonical = (text: string) => JSON.stringify(JSON.parse(text));

function startPeers(ctx: BenchContext): Promise<BenchProcess>[] {
  const env = { BENCH_BODY: ctx.userBody };
  return [
    ctx.startPeer('peer-raw-fastify', 'bench/peers/raw-fastify.js', env, ROUTE),
    ctx.startPeer(
      'peer-typical-boilerplate',
      'bench/peers/typical-boilerplate.js',
      { ...env, NODE_ENV: 'production' },
      ROUTE,
    ),
  ];
}

const profileFile = (ctx: BenchContext) => ctx.registry.logPath('full-stack.cpuprofile');

/** The full stack once more, with the CPU profiler preloaded (it samples only when told to). */
function startProfiled(ctx: BenchContext): Promise<BenchProcess> {
  const preload = ['-r', ctx.registry.entry('bench/preload/cpu-profile.js')];
  return ctx.startApp('full-stack-profiled', { BENCH_CPU_PROFILE: profileFile(ctx) }, preload);
}

/** The peers, and the profiled full stack when the run profiles. */
export function frameworkFloorProcesses(ctx: BenchContext): Promise<BenchProcess>[] {
  return [...startPeers(ctx), ...(ctx.options.profile ? [startProfiled(ctx)] : [])];
}

/**
 * 1. The framework floor: the cached `GET /api/users/1` through everything production runs,
 * against raw Fastify serving the same JSON from memory and against the Nest-docs boilerplate.
 */
export async function frameworkFloor(ctx: BenchContext): Promise<ScenarioOutcome> {
  return withProcesses(startPeers(ctx), async ([raw, boilerplate]) => {
    const notes: string[] = [];
    const bodies = await Promise.all([raw, boilerplate].map((peer) => httpGet(peer, ROUTE)));
    if (bodies.some((body) => canonical(body.text) !== canonical(ctx.userBody))) {
      notes.push('The peers did not answer the same JSON as the app; ratios are not comparable.');
    }
    const load = { path: ROUTE };
    const samples = await compareThroughput(ctx, [
      { name: FULL, target: ctx.full, load },
      { name: RAW, target: raw, load },
      { name: BOILERPLATE, target: boilerplate, load },
    ]);
    const vsRaw = throughputRatio(samples, FULL, RAW);
    const vsBoilerplate = throughputRatio(samples, FULL, BOILERPLATE);
    const rawTarget = evaluateTarget(
      'full stack vs raw Fastify (req/s)',
      { kind: 'at least', value: 0.5, unit: '×' },
      vsRaw,
    );
    const boilerplateTarget = evaluateTarget(
      'full stack vs typical boilerplate (req/s)',
      { kind: 'at least', value: 10, unit: '×' },
      vsBoilerplate,
    );
    const missing = FULL_STACK_FEATURES.filter((feature) => !ctx.features[feature]).map(
      (feature) => FEATURE_LABELS[feature],
    );
    if (missing.length > 0) {
      notes.push(
        `The full stack measured here lacks what is not built yet (${missing.join(', ')}); ` +
          'its ratios will fall as those features land.',
      );
    }
    notes.push(
      `All three answer the same ${formatNumber(Buffer.byteLength(ctx.userBody))}-byte JSON; ` +
        'requests carry no Accept-Encoding, so nothing is compressed. The boilerplate logs each ' +
        'request with nestjs-pino at info, like the full stack, both to a file.',
    );
    const rows = [
      throughputRow(FULL, samples.get(FULL)!, {
        ratio: `${formatRatio(vsRaw, 'raw')} · ${formatRatio(vsBoilerplate, 'boilerplate')}`,
        target: `${rawTarget.cell}; ${boilerplateTarget.cell}`,
      }),
      throughputRow(RAW, samples.get(RAW)!, { ratio: '1× (reference)' }),
      throughputRow(BOILERPLATE, samples.get(BOILERPLATE)!, {
        ratio: formatRatio(throughputRatio(samples, BOILERPLATE, RAW), 'raw'),
        more: 'Nest 11 + Express, CacheInterceptor (memory), ThrottlerGuard (memory), nestjs-pino',
      }),
    ];
    if (ctx.options.profile) {
      notes.push(
        await profileFullStack(ctx).catch((error: Error) => `CPU profile failed: ${error.message}`),
      );
    }
    return {
      rows,
      targets: [rawTarget, boilerplateTarget],
      notes,
      chart: chartBars('1 · framework floor, cached GET /api/users/1 (req/s)', rows),
    };
  });
}

async function waitForProfile(file: string, timeoutMs: number): Promise<void> {
  for (const deadline = Date.now() + timeoutMs; Date.now() < deadline; await sleep(100)) {
    const text = await readFile(file, 'utf8').catch(() => '');
    if (text.endsWith('}')) return;
  }
  throw new Error(`no CPU profile written to ${file}`);
}

/**
 * One more run of the full stack with V8's sampling profiler on (not counted in the table:
 * profiling slows it), so the notes can name where its CPU time goes.
 */
async function profileFullStack(ctx: BenchContext): Promise<string> {
  const file = profileFile(ctx);
  await rm(file, { force: true });
  return withProcesses([startProfiled(ctx)], async ([app]) => {
    const { connections, warmupS, measureS } = ctx.options;
    await runLoad(app, { path: ROUTE, connections, durationS: Math.max(1, warmupS) });
    process.kill(app.pid, 'SIGUSR2');
    await runLoad(app, { path: ROUTE, connections, durationS: measureS });
    process.kill(app.pid, 'SIGUSR2');
    await waitForProfile(file, 10_000);
    return (
      `Where the full stack's CPU time goes on this route (a separate, profiled ${measureS} s run; ` +
      `idle excluded) — ${await describeProfile(file)}. Profile: \`.data/bench/logs/full-stack.cpuprofile\`.`
    );
  });
}
