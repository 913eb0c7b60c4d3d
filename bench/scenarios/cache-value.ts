import { defaultPoolMax, readContainerResources } from '../../src/config/container-resources';
import type { BenchContext } from '../context';
import type { Sample } from '../load';
import type { BenchProcess } from '../processes';
import { CacheReads, cacheReads, configSwitchExists, missShare } from '../probes';
import { evaluateTarget, ResultRow, ScenarioOutcome, TargetResult } from '../report';
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

/** A switch that turns the cache off, used as soon as the configuration knows it. */
export const CACHE_SWITCH = 'CACHE_ENABLED';
/**
 * Without that switch: a cache that keeps next to nothing (one in-process entry, one second
 * in Redis), read with a different user id every time, so every read misses and goes to the
 * database. The app's own `cache_operations_total` confirms the misses during the run.
 */
export const MISS_EVERY_TIME: Readonly<Record<string, string>> = {
  CACHE_L1_MAX_ENTRIES: '1',
  CACHE_TTL_S: '1',
};
/** Below this share of misses the bypass row says its reads were partly cached. */
const MIN_MISS_SHARE = 0.9;
/** The name of the users cache in `cache_operations_total` (`user:{id}`). */
const USER_CACHE = 'user';

const HIT = 'cache hit';
const BYPASS = 'cache bypassed (database every time)';
const POSTS = 'uncached post lists';
const RAW_PG = 'raw Fastify + pg, same query';

/** The app's default pool size here, given to both the bypassed app and the raw pg peer. */
export const poolMax = () => String(defaultPoolMax(readContainerResources()));

/**
 * The app with its cache switched off (or keeping next to nothing), and raw Fastify + `pg`
 * running the same query on a pool of the same size.
 */
export function cacheValueProcesses(ctx: BenchContext): Promise<BenchProcess>[] {
  if (!ctx.features.cache) return [];
  const off = configSwitchExists(CACHE_SWITCH) ? { [CACHE_SWITCH]: 'false' } : MISS_EVERY_TIME;
  const pool = { DB_POOL_MAX: poolMax() };
  return [
    ctx.startApp('cache-bypassed', { ...off, ...pool }),
    ctx.startPeer(
      'peer-raw-pg',
      'bench/peers/raw-pg.js',
      { ...pool, DATABASE_URL: ctx.databaseUrl },
      '/api/users/1',
    ),
  ];
}

/**
 * 2. What the cache is worth: the same read served from the cache and from the database every
 * time, next to an uncached read over the big `posts` table (keyset pages, rotating authors).
 */
export async function cacheValue(ctx: BenchContext): Promise<ScenarioOutcome> {
  if (!ctx.features.cache) {
    return {
      rows: [notBuilt(HIT, 'no cache in the app (probed)'), notBuilt(BYPASS, 'no cache')],
      targets: [],
      notes: [],
      chart: [],
    };
  }
  const switched = configSwitchExists(CACHE_SWITCH);
  return withProcesses(cacheValueProcesses(ctx), async ([bypassed, rawPg]) => {
    let author = 0;
    const nextPostsPage = () => `/api/posts?authorId=${1 + (author++ % ctx.seed.users)}&limit=20`;
    let user = 0;
    const nextUser = () => `/api/users/${1 + (user++ % ctx.seed.users)}`;
    const bypassLoad = switched
      ? { path: '/api/users/1' }
      : { path: '/api/users/1', nextPath: nextUser };

    const reads = new Map<BenchProcess, { before?: CacheReads; shares: number[] }>([
      [ctx.full, { shares: [] }],
      [bypassed, { shares: [] }],
    ]);
    /** Each measurement of a cached read is bracketed by two scrapes of the app's counters. */
    const counted = (target: BenchProcess) => ({
      before: async () => {
        reads.get(target)!.before = await cacheReads(target, USER_CACHE);
      },
      after: async (_sample: Sample) => {
        const entry = reads.get(target)!;
        entry.shares.push(missShare(entry.before!, await cacheReads(target, USER_CACHE)));
      },
    });
    const contenders: ThroughputContender[] = [
      { name: HIT, target: ctx.full, load: { path: '/api/users/1' }, ...counted(ctx.full) },
      { name: BYPASS, target: bypassed, load: bypassLoad, ...counted(bypassed) },
      { name: POSTS, target: ctx.full, load: { path: '/api/posts', nextPath: nextPostsPage } },
      { name: RAW_PG, target: rawPg, load: bypassLoad },
    ];
    const samples = await compareThroughput(ctx, contenders);

    const percent = (shares: number[]) =>
      shares.map((share) => `${formatNumber(share * 100)} %`).join(' / ');
    const hitMisses = reads.get(ctx.full)!.shares;
    const bypassMisses = reads.get(bypassed)!.shares;
    const notes: string[] = [];
    if (bypassMisses.some((share) => !(share >= MIN_MISS_SHARE))) {
      notes.push(
        `The bypassed reads were not all misses (${percent(bypassMisses)} per round); ` +
          'the hit/bypass ratio understates what the cache is worth.',
      );
    }
    const ratio = throughputRatio(samples, HIT, BYPASS);
    const target = evaluateTarget(
      'cache hit vs bypass (req/s)',
      { kind: 'at least', value: 5, unit: '×' },
      ratio,
    );
    const vsRawPg = throughputRatio(samples, BYPASS, RAW_PG);
    const rawPgTarget = evaluateTarget(
      'uncached read vs raw Fastify + pg (req/s)',
      { kind: 'at least', value: 0.8, unit: '×' },
      vsRawPg,
    );
    const targets: TargetResult[] = [target, rawPgTarget];
    const rows: ResultRow[] = [
      throughputRow(HIT, samples.get(HIT)!, {
        ratio: formatRatio(ratio, 'bypass'),
        target: target.cell,
        more: `GET /api/users/1; misses per round (the app's cache_operations_total): ${percent(hitMisses)}`,
      }),
      throughputRow(BYPASS, samples.get(BYPASS)!, {
        ratio: `1× (reference) · ${formatRatio(vsRawPg, 'raw pg')}`,
        target: rawPgTarget.cell,
        more: switched
          ? `${CACHE_SWITCH}=false`
          : `GET /api/users/<1…${ctx.seed.users}>, ${Object.entries(MISS_EVERY_TIME)
              .map(([name, value]) => `${name}=${value}`)
              .join(', ')}; misses per round: ${percent(bypassMisses)}`,
      }),
      throughputRow(RAW_PG, samples.get(RAW_PG)!, {
        ratio: formatRatio(throughputRatio(samples, RAW_PG, BYPASS), 'bypass'),
        more: `the app's SQL for one user on a pg pool of ${poolMax()}, no cache, limiter, logs or validation`,
      }),
      throughputRow(POSTS, samples.get(POSTS)!, {
        ratio: formatRatio(throughputRatio(samples, POSTS, BYPASS), 'bypass'),
        more: `GET /api/posts?authorId=<1…${ctx.seed.users}>&limit=20 over ${formatNumber(ctx.seed.posts)} posts`,
      }),
    ];
    if (!switched) {
      notes.push(
        `The app has no switch to turn its cache off (a \`${CACHE_SWITCH}\` would be used), so the ` +
          'bypass reads a different user each time from a cache that keeps next to nothing: every ' +
          'read goes to the database, and also pays for the miss (fill lock, write to Redis).',
      );
    }
    return { rows, targets, notes, chart: chartBars('2 · cache value (req/s)', rows) };
  });
}
