import autocannon from 'autocannon';
import type { BenchContext } from '../context';
import { CountingPgProxy } from '../pg-counter';
import type { BenchProcess } from '../processes';
import { evaluateTarget, ResultRow, ScenarioOutcome } from '../report';
import { median } from '../stats';
import { notBuilt, withProcesses } from './common';

const CONCURRENT = 200;
/** Any statement reading `users`: single reads, multi-gets, whatever the loader does. */
const USER_READ = /\bfrom\s+"?users"?\b/i;
/** Cold ids start here; 1 is the hot user of the other scenarios. */
const FIRST_COLD_ID = 100;

/** `count` requests at once on `count` connections; resolves with the 2xx count. */
async function burst(target: BenchProcess, path: string, count: number): Promise<number> {
  const result = await autocannon({
    url: target.url + path,
    connections: count,
    amount: count,
    timeout: 10,
  });
  return result['2xx'];
}

interface StampedeRound {
  loads: number;
  ok: number;
}

/** The run's counting proxy, started along with the scenario's processes. */
const proxies = new WeakMap<BenchContext, Promise<CountingPgProxy>>();

function counterOf(ctx: BenchContext): Promise<CountingPgProxy> {
  let proxy = proxies.get(ctx);
  if (proxy === undefined) {
    proxies.set(ctx, (proxy = CountingPgProxy.start(ctx.databaseUrl, USER_READ)));
  }
  return proxy;
}

/** Two instances whose database connections pass through the counting proxy. */
export function stampedeProcesses(ctx: BenchContext): Promise<BenchProcess>[] {
  if (!ctx.features.cache) return [];
  const proxied = counterOf(ctx).then((proxy) => ({ DATABASE_URL: proxy.url }));
  return ['stampede-a', 'stampede-b'].map((name) => proxied.then((env) => ctx.startApp(name, env)));
}

/**
 * 3. Stampede: 200 concurrent requests for a key nobody has read yet, on one instance and
 * split over two instances sharing Redis. Database loads are counted on the wire by a proxy
 * in front of PostgreSQL, so the count does not depend on the app reporting it.
 */
export async function stampede(ctx: BenchContext): Promise<ScenarioOutcome> {
  if (!ctx.features.cache) {
    return {
      rows: [
        notBuilt('one instance', 'no cache in the app (probed)'),
        notBuilt('two instances, one Redis', 'no cache in the app (probed)'),
      ],
      targets: [],
      notes: [],
      chart: [],
    };
  }
  const proxy = await counterOf(ctx);
  try {
    return await withProcesses(stampedeProcesses(ctx), async ([a, b]) => {
      let coldId = FIRST_COLD_ID;
      const measure = async (targets: BenchProcess[]): Promise<StampedeRound> => {
        const path = `/api/users/${coldId++}`;
        const before = proxy.count;
        const answered = await Promise.all(
          targets.map((target) => burst(target, path, CONCURRENT / targets.length)),
        );
        return { loads: proxy.count - before, ok: answered.reduce((sum, n) => sum + n, 0) };
      };
      const one: StampedeRound[] = [];
      const two: StampedeRound[] = [];
      for (let round = 0; round < ctx.options.rounds; round++) {
        one.push(await measure([a]));
        two.push(await measure([a, b]));
      }
      const row = (variant: string, rounds: StampedeRound[], allowed: number) => {
        const loads = median(rounds.map((r) => r.loads));
        const target = evaluateTarget(
          `${variant}: database loads`,
          { kind: 'at most', value: allowed, unit: '' },
          Math.max(...rounds.map((r) => r.loads)),
        );
        const result: ResultRow = {
          variant,
          status: 'ok',
          target: target.cell,
          more:
            `${loads} database load(s) for ${CONCURRENT} requests (median; ` +
            `worst ${target.actual}); ${Math.min(...rounds.map((r) => r.ok))}/${CONCURRENT} answered 2xx`,
        };
        return { result, target, loads };
      };
      const single = row('one instance', one, 1);
      const pair = row('two instances, one Redis', two, 2);
      return {
        rows: [single.result, pair.result],
        targets: [single.target, pair.target],
        notes: [
          'Target: one load per instance (≤ 1 with one instance, ≤ 2 with two); the target ' +
            'column judges the worst round. Loads are statements reading `users`, counted by a ' +
            'PostgreSQL wire-protocol proxy in front of both instances.',
        ],
        chart: [
          { panel: '3 · stampede: database loads', variant: 'one instance', value: single.loads },
          { panel: '3 · stampede: database loads', variant: 'two instances', value: pair.loads },
        ],
      };
    });
  } finally {
    await proxy.close();
  }
}
