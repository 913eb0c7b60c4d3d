import { mkdir, writeFile } from 'node:fs/promises';
import { cpus, loadavg } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { buildForBench } from './build';
import { buildChartSpec, renderChartPng } from './chart';
import {
  BenchContext,
  BenchOptions,
  FULL_OPTIONS,
  fullStackEnv,
  HARD_DEADLINE_MARGIN_S,
  QUICK_OPTIONS,
} from './context';
import {
  BENCH_DATABASE,
  BenchDatabase,
  ensureSeed,
  openBenchDatabase,
  QUICK_BENCH_DATABASE,
  removePostsAfter,
} from './environment';
import { BenchProcess, ProcessRegistry } from './processes';
import { FEATURE_LABELS, httpGet, login, probeFeatures, StackFeatures } from './probes';
import { syncReadme } from './readme';
import { renderMarkdown, RunInfo, ScenarioReport } from './report';
import { SCENARIOS } from './scenarios';
import { formatNumber } from './stats';

const REPO_ROOT = resolve(__dirname, '..');
const README = join(REPO_ROOT, 'README.md');
const WORK_DIR = join(REPO_ROOT, '.data', 'bench');
const USAGE =
  'usage: npm run bench [-- --quick] [--only 1,3] [--rounds N] [--seconds S] [--profile] [--out reports] | npm run bench -- --readme';
const DEFAULT_OUT = 'reports';

export function parseOptions(argv: string[]): BenchOptions {
  const { values } = parseArgs({
    args: argv,
    options: {
      quick: { type: 'boolean', default: false },
      profile: { type: 'boolean' },
      only: { type: 'string' },
      rounds: { type: 'string' },
      seconds: { type: 'string' },
      out: { type: 'string', default: DEFAULT_OUT },
      readme: { type: 'boolean', default: false },
    },
  });
  const base = values.quick ? QUICK_OPTIONS : FULL_OPTIONS;
  const only = new Set(
    values.only ? values.only.split(',').map(Number) : SCENARIOS.map((s) => s.id),
  );
  const rounds = values.rounds === undefined ? base.rounds : Number(values.rounds);
  const measureS = values.seconds === undefined ? base.measureS : Number(values.seconds);
  const ids = SCENARIOS.map((s) => s.id);
  if (
    [...only].some((id) => !ids.includes(id)) ||
    !Number.isInteger(rounds) ||
    rounds < 1 ||
    !Number.isInteger(measureS) ||
    measureS < 1
  ) {
    throw new Error(USAGE);
  }
  return {
    ...base,
    only,
    rounds,
    measureS,
    profile: values.profile ?? base.profile,
    outDir: resolve(REPO_ROOT, values.out),
    readmeOnly: values.readme,
  };
}

/** A dozen processes start at once on two cores: each gets a share of them. */
const START_TIMEOUT_MS = 120_000;

const log = (started: number) => (message: string) =>
  process.stderr.write(`[bench ${((Date.now() - started) / 1000).toFixed(1)} s] ${message}\n`);

/** Redis of our own when `redis-server` is installed; otherwise the app's in-process stores. */
async function startRedis(registry: ProcessRegistry): Promise<BenchProcess | undefined> {
  try {
    return await registry.startRedis();
  } catch {
    return undefined;
  }
}

function featureLine(features: StackFeatures): string[] {
  return (Object.keys(FEATURE_LABELS) as (keyof StackFeatures)[]).map(
    (feature) => `${FEATURE_LABELS[feature]} ${features[feature] ? '✓' : '✗ (not built)'}`,
  );
}

function failedReport(id: number, title: string, error: unknown): ScenarioReport {
  const message = error instanceof Error ? error.message.split('\n')[0] : String(error);
  return {
    id,
    title,
    rows: [{ variant: '—', status: 'failed', more: message }],
    targets: [],
    notes: [`failed to run: ${message} (process logs in \`.data/bench/logs/\`)`],
    chart: [],
  };
}

async function run(options: BenchOptions): Promise<boolean> {
  const started = Date.now();
  const say = log(started);
  const loadBefore = loadavg();
  const logDir = join(WORK_DIR, 'logs');
  const buildDir = join(WORK_DIR, 'build');
  await mkdir(logDir, { recursive: true });
  await mkdir(options.outDir, { recursive: true });

  const registry = new ProcessRegistry(REPO_ROOT, logDir, buildDir, say);
  let database: BenchDatabase | undefined;
  const abort = (why: string, code: number) => {
    say(why);
    registry.killAll();
    database?.closeSync();
    process.exit(code);
  };
  process.once('SIGINT', () => abort('interrupted: children stopped', 130));
  process.once('SIGTERM', () => abort('terminated: children stopped', 143));
  const hardDeadlineS = options.deadlineS + HARD_DEADLINE_MARGIN_S;
  const deadline = setTimeout(
    () => abort(`hard deadline of ${hardDeadlineS} s passed: children stopped, no report`, 1),
    hardDeadlineS * 1000,
  );

  try {
    const files = await buildForBench(REPO_ROOT, buildDir);
    say(`compiled ${files} files to ${buildDir}`);
    database = await openBenchDatabase(
      REPO_ROOT,
      options.quick ? QUICK_BENCH_DATABASE : BENCH_DATABASE,
    );
    const redis = await startRedis(registry);
    say(`database: ${database.description}; redis: ${redis?.url ?? 'none'}`);
    const seed = await ensureSeed(REPO_ROOT, database.url, options.seed, join(logDir, 'seed.log'));
    say(`seed ${seed.reused ? 'reused' : 'written'}: ${seed.users} users, ${seed.posts} posts`);

    const env = fullStackEnv(database.url, redis?.url);
    const processes = new Map<string, Promise<BenchProcess>>();
    const once = (name: string, start: () => Promise<BenchProcess>) => {
      let started = processes.get(name);
      if (started === undefined) {
        processes.set(name, (started = start()));
        // a failed start is reported by the scenario that awaits it
        started.catch(() => undefined);
      }
      return started;
    };
    const startApp = (
      name: string,
      overrides: Record<string, string> = {},
      nodeArgs?: string[],
      readyPath = '/api/config',
    ) =>
      once(name, () =>
        registry.startNode({
          name,
          entry: registry.entry('src/main.js'),
          env: { ...env, ...overrides },
          readyPath,
          nodeArgs,
          timeoutMs: START_TIMEOUT_MS,
        }),
      );
    const startPeer = (
      name: string,
      file: string,
      peerEnv: Record<string, string>,
      readyPath: string,
    ) =>
      once(name, () =>
        registry.startNode({
          name,
          entry: registry.entry(file),
          env: peerEnv,
          readyPath,
          timeoutMs: START_TIMEOUT_MS,
        }),
      );
    const full = await startApp('full-stack');
    const token = await login(full, seed.email, seed.password).catch(() => undefined);
    const features = await probeFeatures(full, database.url, {
      cacheProbeUserId: seed.users,
      token,
      redisUrl: redis?.url,
    });
    await removePostsAfter(database.url, seed.lastSeededPostId);
    say(`full stack: ${featureLine(features).join(', ')}`);

    const ctx: BenchContext = {
      options,
      registry,
      databaseUrl: database.url,
      redisUrl: redis?.url,
      seed,
      userBody: (await httpGet(full, '/api/users/1')).text,
      features,
      full,
      token,
      log: say,
      startApp,
      startPeer,
    };
    const selected = SCENARIOS.filter((s) => options.only.has(s.id));
    // Every process of the run starts now, together and before anything is measured: one
    // after the other, a dozen Nest starts would take most of the quick run's minute.
    const startedAt = Date.now();
    await Promise.allSettled(selected.flatMap((scenario) => scenario.start?.(ctx) ?? []));
    say(`${processes.size} processes ready in ${((Date.now() - startedAt) / 1000).toFixed(1)} s`);
    const reports: ScenarioReport[] = [];
    for (const scenario of selected) {
      const title = scenario.title(ctx);
      if (Date.now() - started > options.deadlineS * 1000) {
        const why = new Error(`not run: the run's ${options.deadlineS} s budget was spent`);
        reports.push(failedReport(scenario.id, title, why));
        say(`scenario ${scenario.id}: ${why.message}`);
        continue;
      }
      say(`scenario ${scenario.id}: ${title}`);
      try {
        reports.push({ id: scenario.id, title, ...(await scenario.run(ctx)) });
      } catch (error) {
        reports.push(failedReport(scenario.id, title, error));
        say(`scenario ${scenario.id} failed: ${String(error)}`);
      }
    }
    await full.stop();
    await redis?.stop();

    const info: RunInfo = {
      startedAt: new Date(started),
      durationS: (Date.now() - started) / 1000,
      mode: options.quick ? 'quick' : 'full',
      rounds: options.rounds,
      warmupS: options.warmupS,
      measureS: options.measureS,
      connections: options.connections,
      node: `Node ${process.version}`,
      cpus: `${cpus().length} × ${cpus()[0]?.model.trim() ?? 'unknown CPU'}`,
      loadBefore,
      loadAfter: loadavg(),
      database: database.description,
      redis: redis
        ? 'a private `redis-server` on a free port, no persistence'
        : 'none (`redis-server` not found): in-process stores',
      seed: `${formatNumber(seed.users)} users, ${formatNumber(seed.posts)} posts (\`npm run seed\`, ${seed.reused ? 'reused from an earlier run' : 'written by this run'})`,
      build:
        "app and peers compiled once per run, file by file (`ts.transpileModule`, as ts-node --transpile-only), with the `@app/*` aliases resolved, and started with plain `node`; the same JavaScript `nest build` emits, minus the Swagger plugin's metadata.",
      features: featureLine(features),
    };
    const markdown = renderMarkdown(info, reports);
    const png = await renderChartPng(
      buildChartSpec(
        reports.flatMap((report) => report.chart),
        `${info.mode} run, ${info.startedAt.toISOString().slice(0, 16)} UTC — ${info.cpus}, load generator on the same cores`,
      ),
    );
    await writeFile(join(options.outDir, 'bench.md'), markdown);
    await writeFile(join(options.outDir, 'bench.png'), png);
    process.stdout.write(markdown);
    say(`wrote ${join(options.outDir, 'bench.md')} and bench.png`);
    // the README shows the latest full run written where it links to; quick runs never
    if (!options.quick && options.outDir === resolve(REPO_ROOT, DEFAULT_OUT)) {
      await syncReadme(join(options.outDir, 'bench.md'), README);
      say('copied the table into README.md (## Benchmarks)');
    }
    return reports.every((report) => report.rows.every((row) => row.status !== 'failed'));
  } finally {
    clearTimeout(deadline);
    registry.killAll();
    await database?.close();
  }
}

if (require.main === module) {
  let options: BenchOptions;
  try {
    options = parseOptions(process.argv.slice(2));
  } catch (error) {
    process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(2);
  }
  const work = options.readmeOnly
    ? syncReadme(join(options.outDir, 'bench.md'), README).then(() => true)
    : run(options);
  work.then(
    (allRan) => process.exit(allRan ? 0 : 1),
    (error: unknown) => {
      process.stderr.write(
        `bench failed: ${error instanceof Error ? error.stack : String(error)}\n`,
      );
      process.exit(1);
    },
  );
}
