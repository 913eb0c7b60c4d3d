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
const IN_PROCESS = 'loadstar full stack, in-process stores';
const RAW = 'raw Fastify 5';
const BARE_NEST = 'bare Nest 11 on Fastify';
const BOILERPLATE = 'typical boilerplate';
const NAIVE_REDIS = 'naive Redis-backed stack';

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

/** Raw Fastify, bare Nest, the boilerplate and, when the bench has a Redis, the naive stack. */
function startPeers(ctx: BenchContext): Promise<BenchProcess>[] {
  const env = { BENCH_BODY: ctx.userBody };
  const boilerplate = (name: string, redisUrl: string) =>
    ctx.startPeer(
      name,
      'bench/peers/typical-boilerplate.js',
      { ...env, NODE_ENV: 'production', REDIS_URL: redisUrl },
      ROUTE,
    );
  return [
    ctx.startPeer('peer-raw-fastify', 'bench/peers/raw-fastify.js', env, ROUTE),
    ctx.startPeer('peer-bare-nest', 'bench/peers/bare-nest.js', env, ROUTE),
    boilerplate('peer-typical-boilerplate', ''),
    ...(ctx.redisUrl === undefined ? [] : [boilerplate('peer-naive-redis', ctx.redisUrl)]),
  ];
}

/**
 * The full stack without `REDIS_URL` (the zero-config mode: in-process L1 cache and limiter),
 * when the full stack itself runs on Redis; otherwise the full stack already is that mode.
 */
function startInProcess(ctx: BenchContext): Promise<BenchProcess>[] {
  return ctx.redisUrl === undefined
    ? []
    : [ctx.startApp('full-stack-in-process', { REDIS_URL: '' })];
}

const profileFile = (ctx: BenchContext) => ctx.registry.logPath('full-stack.cpuprofile');

/** The full stack once more, with the CPU profiler preloaded (it samples only when told to). */
function startProfiled(ctx: BenchContext): Promise<BenchProcess> {
  const preload = ['-r', ctx.registry.entry('bench/preload/cpu-profile.js')];
  return ctx.startApp('full-stack-profiled', { BENCH_CPU_PROFILE: profileFile(ctx) }, preload);
}

/** The peers, and the profiled full stack when the run profiles. */
export function frameworkFloorProcesses(ctx: BenchContext): Promise<BenchProcess>[] {
  return [
    ...startPeers(ctx),
    ...startInProcess(ctx),
    ...(ctx.options.profile ? [startProfiled(ctx)] : []),
  ];
}

/**
 * 1. The framework floor: the cached `GET /api/users/1` through everything production runs
 * (on Redis, and in the zero-config in-process mode), against raw Fastify and bare Nest
 * serving the same JSON from memory and against the Nest-docs boilerplate.
 */
export async function frameworkFloor(ctx: BenchContext): Promise<ScenarioOutcome> {
  const starting = [...startPeers(ctx), ...startInProcess(ctx)];
  return withProcesses(starting, async ([raw, bareNest, boilerplate, ...more]) => {
    const naive = ctx.redisUrl === undefined ? undefined : more.shift();
    const inProcess = more.shift();
    const notes: string[] = [];
    const peers = [raw, bareNest, boilerplate, ...(naive ? [naive] : [])];
    const bodies = await Promise.all(peers.map((peer) => httpGet(peer, ROUTE)));
    if (bodies.some((body) => canonical(body.text) !== canonical(ctx.userBody))) {
      notes.push('The peers did not answer the same JSON as the app; ratios are not comparable.');
    }
    const load = { path: ROUTE };
    const samples = await compareThroughput(ctx, [
      { name: FULL, target: ctx.full, load },
      ...(inProcess ? [{ name: IN_PROCESS, target: inProcess, load }] : []),
      { name: RAW, target: raw, load },
      { name: BARE_NEST, target: bareNest, load },
      { name: BOILERPLATE, target: boilerplate, load },
      ...(naive ? [{ name: NAIVE_REDIS, target: naive, load }] : []),
    ]);
    const vsRaw = throughputRatio(samples, FULL, RAW);
    const vsBareNest = throughputRatio(samples, FULL, BARE_NEST);
    const vsBoilerplate = throughputRatio(samples, FULL, BOILERPLATE);
    const rawTarget = evaluateTarget(
      'full stack vs raw Fastify (req/s)',
      { kind: 'at least', value: 0.75, unit: '×' },
      vsRaw,
    );
    const bareNestTarget = evaluateTarget(
      'full stack vs bare Nest on Fastify (req/s)',
      { kind: 'at least', value: 0.9, unit: '×' },
      vsBareNest,
    );
    const boilerplateTarget = evaluateTarget(
      'full stack vs typical boilerplate (req/s)',
      { kind: 'at least', value: 10, unit: '×' },
      vsBoilerplate,
    );
    const vsNaive = naive ? throughputRatio(samples, FULL, NAIVE_REDIS) : undefined;
    const naiveTargets =
      vsNaive === undefined
        ? []
        : [
            evaluateTarget(
              'full stack vs the naive Redis-backed stack (req/s)',
              { kind: 'at least', value: 2.5, unit: '×' },
              vsNaive,
            ),
          ];
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
      `All peers answer the same ${formatNumber(Buffer.byteLength(ctx.userBody))}-byte JSON; ` +
        'requests carry no Accept-Encoding, so nothing is compressed. The boilerplate logs each ' +
        'request with nestjs-pino at info, like the full stack, both to a file.',
    );
    const rows = [
      throughputRow(FULL, samples.get(FULL)!, {
        ratio: [
          formatRatio(vsRaw, 'raw'),
          formatRatio(vsBareNest, 'bare Nest'),
          formatRatio(vsBoilerplate, 'boilerplate'),
          ...(vsNaive === undefined ? [] : [formatRatio(vsNaive, 'naive Redis')]),
        ].join(' · '),
        target: [rawTarget, bareNestTarget, boilerplateTarget, ...naiveTargets]
          .map((target) => target.cell)
          .join('; '),
        more: ctx.redisUrl === undefined ? 'no Redis: in-process stores' : 'REDIS_URL set',
      }),
    ];
    const targets = [rawTarget, bareNestTarget, boilerplateTarget, ...naiveTargets];
    if (inProcess) {
      const vsRedis = throughputRatio(samples, IN_PROCESS, FULL);
      const modeTarget = evaluateTarget(
        'in-process stores vs Redis (req/s)',
        { kind: 'at least', value: 1, unit: '×' },
        vsRedis,
      );
      targets.push(modeTarget);
      rows.push(
        throughputRow(IN_PROCESS, samples.get(IN_PROCESS)!, {
          ratio: [
            formatRatio(vsRedis, 'Redis mode'),
            formatRatio(throughputRatio(samples, IN_PROCESS, RAW), 'raw'),
            formatRatio(throughputRatio(samples, IN_PROCESS, BARE_NEST), 'bare Nest'),
          ].join(' · '),
          target: modeTarget.cell,
          more: 'REDIS_URL unset: L1 cache and rate limiter in process memory',
        }),
      );
    }
    rows.push(
      throughputRow(RAW, samples.get(RAW)!, { ratio: '1× (reference)' }),
      throughputRow(BARE_NEST, samples.get(BARE_NEST)!, {
        ratio: formatRatio(throughputRatio(samples, BARE_NEST, RAW), 'raw'),
        more: 'Nest 11 + FastifyAdapter, no logger, guard, interceptor or pipe',
      }),
      throughputRow(BOILERPLATE, samples.get(BOILERPLATE)!, {
        ratio: formatRatio(throughputRatio(samples, BOILERPLATE, RAW), 'raw'),
        more: 'Nest 11 + Express, CacheInterceptor (memory), ThrottlerGuard (memory), nestjs-pino',
      }),
    );
    if (naive) {
      rows.push(
        throughputRow(NAIVE_REDIS, samples.get(NAIVE_REDIS)!, {
          ratio: formatRatio(throughputRatio(samples, NAIVE_REDIS, RAW), 'raw'),
          more:
            'Nest 11 + Fastify, CacheInterceptor on @keyv/redis, ThrottlerGuard on ' +
            '@nest-lab/throttler-storage-redis, nestjs-pino',
        }),
      );
    }
    if (ctx.options.profile) {
      notes.push(
        await profileFullStack(ctx).catch((error: Error) => `CPU profile failed: ${error.message}`),
      );
    }
    return {
      rows,
      targets,
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
    const { requests } = await runLoad(app, { path: ROUTE, connections, durationS: measureS });
    process.kill(app.pid, 'SIGUSR2');
    await waitForProfile(file, 10_000);
    return (
      `Where the full stack's CPU time goes on this route (a separate, profiled ${measureS} s run; ` +
      `idle excluded) — ${await describeProfile(file, requests)}. Profile: \`.data/bench/logs/full-stack.cpuprofile\`.`
    );
  });
}
