import type { BenchContext } from '../context';
import type { BenchProcess } from '../processes';
import { configSwitchExists, servesFromCache } from '../probes';
import { evaluateTarget, ResultRow, ScenarioOutcome, TargetResult } from '../report';
import { formatRatio } from '../stats';
import {
  chartBars,
  compareThroughput,
  notBuilt,
  ThroughputContender,
  throughputRatio,
  throughputRow,
  withProcesses,
} from './common';

/** Proposed switch: the app with its cache off, everything else as in production. */
export const CACHE_SWITCH = 'CACHE_ENABLED';

const HIT = 'cache hit';
const BYPASS = 'cache bypassed (database every time)';
const POSTS = 'uncached post lists';

/**
 * 2. What the cache is worth: the same read served from the cache and from the database every
 * time, next to an uncached read over the big `posts` table (keyset pages, rotating authors).
 */
export async function cacheValue(ctx: BenchContext): Promise<ScenarioOutcome> {
  const cacheBuilt = ctx.features.cache;
  const canBypass = cacheBuilt && configSwitchExists(CACHE_SWITCH);
  const starting = canBypass ? [ctx.startApp('cache-off', { [CACHE_SWITCH]: 'false' })] : [];
  return withProcesses(starting, async ([cacheOff]) => {
    const notes: string[] = [];
    let author = 0;
    const nextPostsPage = () => `/api/posts?authorId=${1 + (author++ % ctx.seed.users)}&limit=20`;
    // With no cache in the app, every read of the user is a database read already.
    const bypassTarget: BenchProcess | undefined = cacheBuilt ? cacheOff : ctx.full;
    if (cacheOff && (await servesFromCache(cacheOff, ctx.databaseUrl, ctx.seed.users))) {
      notes.push(`${CACHE_SWITCH}=false did not turn the cache off; the bypass row is not shown.`);
    }
    const bypassWorks = bypassTarget !== undefined && notes.length === 0;

    const contenders: ThroughputContender[] = [];
    if (cacheBuilt)
      contenders.push({ name: HIT, target: ctx.full, load: { path: '/api/users/1' } });
    if (bypassWorks)
      contenders.push({ name: BYPASS, target: bypassTarget, load: { path: '/api/users/1' } });
    contenders.push({
      name: POSTS,
      target: ctx.full,
      load: { path: '/api/posts', nextPath: nextPostsPage },
    });
    const samples = await compareThroughput(ctx, contenders);

    const rows: ResultRow[] = [];
    const targets: TargetResult[] = [];
    if (!cacheBuilt) rows.push(notBuilt(HIT, 'no cache in the app yet (issue #3)'));
    else {
      const ratio = bypassWorks ? throughputRatio(samples, HIT, BYPASS) : NaN;
      const target = evaluateTarget(
        'cache hit vs bypass (req/s)',
        { kind: 'at least', value: 5, unit: '×' },
        ratio,
      );
      if (bypassWorks) targets.push(target);
      rows.push(
        throughputRow(HIT, samples.get(HIT)!, {
          ratio: bypassWorks ? formatRatio(ratio, 'bypass') : undefined,
          target: bypassWorks ? target.cell : undefined,
        }),
      );
    }
    if (bypassWorks) {
      rows.push(
        throughputRow(BYPASS, samples.get(BYPASS)!, {
          ratio: '1× (reference)',
          more: cacheBuilt ? `${CACHE_SWITCH}=false` : 'the app has no cache yet',
        }),
      );
    } else {
      rows.push(
        notBuilt(BYPASS, `no way to switch the cache off; proposed \`${CACHE_SWITCH}=false\``),
      );
    }
    rows.push(
      throughputRow(POSTS, samples.get(POSTS)!, {
        ratio: bypassWorks
          ? formatRatio(throughputRatio(samples, POSTS, BYPASS), 'bypass')
          : undefined,
        more: `GET /api/posts?authorId=<1…${ctx.seed.users}>&limit=20 over ${ctx.seed.posts} posts`,
      }),
    );
    return {
      rows,
      targets,
      notes,
      chart: chartBars('2 · cache value (req/s)', rows),
    };
  });
}
