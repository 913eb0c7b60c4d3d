import { rm } from 'node:fs/promises';
import { createServer, Server } from 'node:net';
import { join, resolve } from 'node:path';
import { AppProcess, startAppProcess } from '../utils/app-process';
import { builtApp } from '../utils/built-app';
import { freePort, sleep } from '../utils/net';
import { parseSamples } from '../utils/prometheus-text';
import { probe } from './runtime-probes';

const ROOT = resolve(__dirname, '..', '..');

/** One JSON log line of a process (pino), as far as these tests read it. */
interface LogLine {
  time: number;
  pid: number;
  msg: string;
}

function logLines(app: AppProcess): LogLine[] {
  return app
    .output()
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line) as LogLine);
}

/** Waits until the process has logged `count` lines whose message matches `pattern`. */
async function waitForLog(
  app: AppProcess,
  pattern: RegExp,
  count = 1,
  timeoutMs = 90_000,
): Promise<{ line: LogLine; match: RegExpMatchArray }[]> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const found = logLines(app).flatMap((line) => {
      const match = pattern.exec(line.msg);
      return match ? [{ line, match }] : [];
    });
    if (found.length >= count) return found;
    if (Date.now() > deadline) {
      throw new Error(`no ${count}× ${pattern} within ${timeoutMs} ms:\n${app.output()}`);
    }
    await sleep(100);
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/**
 * The built app (plain node): each worker start under ts-node takes many seconds, and these
 * tests start several.
 */
describe('cluster mode (e2e)', () => {
  const privateDir = join(ROOT, '.data', `cluster-dist-${process.pid}`);
  let entry: string;
  let app: AppProcess | undefined;

  beforeAll(async () => {
    entry = join(await builtApp(privateDir), 'src', 'main.js');
  }, 240_000);
  afterEach(async () => {
    await app?.stop('SIGKILL');
    app = undefined;
  });
  afterAll(() => rm(privateDir, { recursive: true, force: true }));

  const clusterEnv = { CLUSTER_WORKERS: '2', WORKER_POOL_SIZE: '1', LOG_LEVEL: 'info' };

  it('aggregates /metrics, replaces a SIGKILLed worker with one serving within 2 s, exits 0 on SIGTERM', async () => {
    app = await startAppProcess(clusterEnv, {
      entry,
      readyPath: '/health/ready',
      timeoutMs: 120_000,
    });
    const listening = await waitForLog(app, /^worker (\d) \(pid (\d+)\) listening/, 2);
    await waitForLog(app, /^standby \(pid \d+\) ready/);
    const victim = Number(listening.find(({ match }) => match[1] === '1')!.match[2]);

    // one scrape counts the requests of every worker (aggregated by the primary over IPC)
    for (let request = 0; request < 10; request++) {
      expect(await probe(app.port, '/api/config')).toBe(200);
    }
    const servedBy = await waitForLog(app, /^request completed$/, 10);
    expect(new Set(servedBy.map(({ line }) => line.pid)).size).toBe(2);
    const metrics = await app.api.get('/metrics');
    expect(metrics.status).toBe(200);
    expect(metrics.text).toMatch(
      /^http_request_duration_seconds_count\{[^}]*route="\/api\/config"[^}]*\} 10$/m,
    );
    // the aggregate has no exemplars to show: Prometheus' text even to an OpenMetrics scraper
    const asked = await app.api.get('/metrics', {
      headers: { accept: 'application/openmetrics-text; version=1.0.0' },
    });
    expect(asked.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
    expect(asked.text).toMatch(/^http_request_duration_seconds_count\{[^}]*route="\/api\/config"/m);

    const killedAt = Date.now();
    process.kill(victim, 'SIGKILL');
    // worker 1's second listening line is its replacement's
    const [, { match: replacement }] = await waitForLog(
      app,
      /^worker 1 \(pid (\d+)\) listening/,
      2,
    );
    const newPid = Number(replacement[1]);
    expect(newPid).not.toBe(victim);
    // connections are handed out round-robin: a few requests reach the new worker
    let servedAt: number | undefined;
    while (servedAt === undefined && Date.now() - killedAt < 10_000) {
      expect(await probe(app.port, '/api/config')).toBe(200);
      servedAt = logLines(app).find(
        (line) => line.pid === newPid && line.msg === 'request completed',
      )?.time;
    }
    expect(servedAt).toBeDefined();
    expect(servedAt! - killedAt).toBeLessThan(2_000);

    const workers = [...new Set(logLines(app).map((line) => line.pid))].filter(
      (pid) => pid !== app!.pid,
    );
    process.kill(app.pid, 'SIGTERM');
    expect(await app.exited).toBe(0);
    expect(workers.filter(isAlive)).toEqual([]);
  }, 240_000);

  it('with OPS_PORT, one scrape of the operations port shows every worker; the public port hides it', async () => {
    const opsPort = await freePort();
    app = await startAppProcess(
      { ...clusterEnv, OPS_PORT: String(opsPort) },
      { entry, timeoutMs: 120_000 },
    );
    // each worker logs the addresses it is bound to
    const bound = await waitForLog(
      app,
      new RegExp(`^operations routes \\(.*\\) on http://127\\.0\\.0\\.1:${opsPort} only$`),
      2,
    );
    expect(new Set(bound.map(({ line }) => line.pid)).size).toBe(2);
    await waitForLog(
      app,
      new RegExp(`^loadstar listening on http://127\\.0\\.0\\.1:${app.port}$`),
      2,
    );

    // GET /api/config answered so far by the whole cluster (start-up polls included)
    const served = async () => {
      const scrape = await fetch(`http://127.0.0.1:${opsPort}/metrics`);
      expect(scrape.status).toBe(200);
      return parseSamples(await scrape.text())
        .filter(
          (sample) =>
            sample.name === 'http_request_duration_seconds_count' &&
            sample.labels.route === '/api/config',
        )
        .reduce((sum, sample) => sum + sample.value, 0);
    };
    const before = await served();
    for (let request = 0; request < 10; request++) {
      expect(await probe(app.port, '/api/config')).toBe(200);
    }
    const servedBy = await waitForLog(app, /^request completed$/, 10);
    expect(new Set(servedBy.map(({ line }) => line.pid)).size).toBe(2);
    expect(await served()).toBe(before + 10);
    expect(await probe(app.port, '/metrics')).toBe(404);
  }, 240_000);

  it('restarts a worker that crashes at start with growing delays, then serves once it can', async () => {
    // A real cause that passes the primary and fails in every worker: the port is taken.
    const port = await freePort();
    const blocker: Server = createServer();
    await new Promise<void>((done) => blocker.listen(port, '127.0.0.1', done));
    try {
      app = await startAppProcess(
        { ...clusterEnv, CLUSTER_WORKERS: '1', PORT: String(port) },
        { entry, waitUntilReady: false },
      );
      const crashes = await waitForLog(
        app,
        /^worker 1 \(pid \d+\) exited with code 1 before it was up; replacing it in (\d+) ms/,
        4,
        180_000,
      );
      const delays = crashes.map(({ match }) => Number(match[1]));
      expect(delays.slice(0, 4)).toEqual([100, 200, 400, 800]);
      // each replacement waited at least its delay before it could crash again
      for (let index = 1; index < 4; index++) {
        const gap = crashes[index].line.time - crashes[index - 1].line.time;
        expect(gap).toBeGreaterThanOrEqual(delays[index - 1]);
      }
      expect(app.output()).toContain('EADDRINUSE');
    } finally {
      await new Promise((done) => blocker.close(done));
    }

    const deadline = Date.now() + 120_000;
    while ((await probe(app.port, '/health/ready')) !== 200) {
      expect(Date.now()).toBeLessThan(deadline);
      await sleep(200);
    }
    process.kill(app.pid, 'SIGTERM');
    expect(await app.exited).toBe(0);
  }, 420_000);
});
