import { readFileSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import autocannon from 'autocannon';
import { buildForBench } from './build';
import { fullStackEnv } from './context';
import { poolMax } from './scenarios/cache-value';
import { BenchProcess, ProcessRegistry } from './processes';

/**
 * CPU time per request, for a machine too loaded for req/s to mean much: each server pinned to
 * core 1 and the load generator (autocannon, in this process) to core 0, `--requests` cached
 * `GET /api/users/1` per round and server, interleaved, the server's user + system time from
 * /proc around each round (all its threads), the first round a warm-up. Needs DATABASE_URL
 * (seeded) and REDIS_URL; `--only raw,nest,redis,redis-nest,memory,memory-nest` picks rows
 * (`-nest`: `CACHE_FAST_PATH=false`); `bypass,raw-pg` compare the database path (cache off
 * against raw Fastify + `pg` running the same query). Method and figures: docs/benchmarks.md.
 *
 * @example npx ts-node --transpile-only -r tsconfig-paths/register bench/cpu-cost.ts --rounds 4
 */
const CLOCK_TICKS_PER_S = 100;

/** user + system CPU of a process (all its threads), in µs, from /proc. */
function cpuMicros(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return ((Number(fields[11]) + Number(fields[12])) * 1e6) / CLOCK_TICKS_PER_S;
}

async function drive(url: string, amount: number, headers: Record<string, string>) {
  const result = await autocannon({ url, connections: 50, amount, headers });
  return result.non2xx + result.errors;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      rounds: { type: 'string', default: '5' },
      requests: { type: 'string', default: '20000' },
      only: { type: 'string', default: 'raw,nest,redis,memory' },
      encoding: { type: 'string', default: '' },
    },
  });
  const root = resolve(__dirname, '..');
  const out = join(root, '.data/cpu-cost');
  await mkdir(join(out, 'logs'), { recursive: true });
  await buildForBench(root, join(out, 'build'));
  const registry = new ProcessRegistry(root, join(out, 'logs'), join(out, 'build'));
  process.on('exit', () => registry.killAll());
  const databaseUrl = process.env.DATABASE_URL;
  const redisUrl = process.env.REDIS_URL;
  if (!databaseUrl || !redisUrl) throw new Error('cpu-cost needs DATABASE_URL and REDIS_URL');
  const env = fullStackEnv(databaseUrl, redisUrl);
  const app = (name: string, extra: Record<string, string>) =>
    registry.startNode({
      name,
      entry: registry.entry('src/main.js'),
      env: { ...env, ...extra },
      readyPath: '/api/users/1',
    });
  const wanted = new Set(values.only!.split(','));
  const body = await (async () => {
    const probe = await app('probe', {});
    const text = await (await fetch(probe.url + '/api/users/1')).text();
    await probe.stop();
    return text;
  })();
  const peer = (name: string, file: string, extra: Record<string, string> = {}) =>
    registry.startNode({
      name,
      entry: registry.entry(file),
      env: { BENCH_BODY: body, NODE_ENV: 'production', ...extra },
      readyPath: '/api/users/1',
    });
  const targets: [string, BenchProcess][] = [];
  if (wanted.has('raw'))
    targets.push(['raw Fastify', await peer('raw', 'bench/peers/raw-fastify.js')]);
  if (wanted.has('nest'))
    targets.push(['bare Nest', await peer('nest', 'bench/peers/bare-nest.js')]);
  if (wanted.has('redis')) targets.push(['loadstar Redis', await app('redis', {})]);
  if (wanted.has('memory'))
    targets.push(['loadstar in-process', await app('memory', { REDIS_URL: '' })]);
  if (wanted.has('redis-nest'))
    targets.push([
      'loadstar Redis, no fast path',
      await app('redis-nest', { CACHE_FAST_PATH: 'false' }),
    ]);
  if (wanted.has('memory-nest'))
    targets.push([
      'loadstar in-process, no fast path',
      await app('memory-nest', { REDIS_URL: '', CACHE_FAST_PATH: 'false' }),
    ]);
  // the database path: the app with its cache off against raw Fastify + pg, same pool size
  const pool = { DB_POOL_MAX: poolMax() };
  if (wanted.has('bypass'))
    targets.push([
      'loadstar cache off',
      await app('bypass', { REDIS_URL: '', CACHE_ENABLED: 'false', ...pool }),
    ]);
  if (wanted.has('raw-pg'))
    targets.push([
      'raw Fastify + pg',
      await peer('raw-pg', 'bench/peers/raw-pg.js', { DATABASE_URL: databaseUrl, ...pool }),
    ]);
  const { execFileSync } = await import('node:child_process');
  for (const [, p] of targets) execFileSync('taskset', ['-pc', '1', String(p.pid)]);
  execFileSync('taskset', ['-pc', '0', String(process.pid)]);
  const amount = Number(values.requests);
  const results = new Map<string, number[]>();
  for (let round = 0; round <= Number(values.rounds); round++) {
    for (const [name, p] of targets) {
      const headers: Record<string, string> = values.encoding
        ? { 'accept-encoding': values.encoding }
        : {};
      const before = cpuMicros(p.pid);
      const bad = await drive(p.url + '/api/users/1', amount, headers);
      const perRequest = (cpuMicros(p.pid) - before) / amount;
      if (round === 0) continue; // warm-up
      (results.get(name) ?? results.set(name, []).get(name)!).push(perRequest);
      process.stdout.write(
        `round ${round} ${name}: ${perRequest.toFixed(1)} µs/req${bad ? ` (${bad} not 2xx)` : ''}\n`,
      );
    }
  }
  for (const [name, list] of results) {
    const sorted = [...list].sort((a, b) => a - b);
    process.stdout.write(
      `${name}: median ${sorted[sorted.length >> 1].toFixed(1)} µs/req  [${sorted.map((v) => v.toFixed(0)).join(' ')}]\n`,
    );
  }
  registry.killAll();
}

main().catch((error: unknown) => {
  process.stderr.write(`cpu-cost: ${String(error)}\n`);
  process.exit(1);
});
