import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { ApiClient, ApiResponse, TestUser } from '../utils/api-client';
import { AppProcess, SHARED_TEST_JWT_SECRET, startAppProcess } from '../utils/app-process';
import { sleep } from '../utils/net';
import { PrivatePostgres } from '../utils/private-postgres';
import { PrivateRedis } from '../utils/private-redis';
import {
  hasPromtool,
  metricTypes,
  parseSamples,
  promtool,
  REPLICA_METRIC,
  selectedMetrics,
} from '../utils/prometheus-text';
import { readinessUntil } from '../utils/readiness';
import { startTestApp, TestApp } from '../utils/test-app';
import { migratedDataSource } from '../setup/test-database';

const itWithPromtool = hasPromtool() ? it : it.skip;

/** Short, so that a lagging replica leaves the rotation within the test's time. */
const MAX_LAG_MS = 2_000;
/** The bound on leaving and rejoining the rotation, after the lag crosses the maximum. */
const ROTATION_CHANGE_MS = 2_000;

interface ReplicaDetail {
  state: string;
  lagMs?: number;
}

const replicasOf = (res: ApiResponse): ReplicaDetail[] =>
  res.body?.details?.databaseReplicas?.replicas ?? [];

const titlesOf = (res: ApiResponse): string[] =>
  (res.body.items as { title: string }[]).map((post) => post.title);

/** Titles of an NDJSON export. */
const exportedTitles = (res: ApiResponse): string[] =>
  res.text
    .split('\n')
    .filter(Boolean)
    .map((line) => (JSON.parse(line) as { title: string }).title);

/**
 * A primary and two hot standbys made with `pg_basebackup -R`, streaming, on free loopback
 * ports (the machine's PostgreSQL server binaries), with the app reading from the standbys.
 * Which server answered a list shows in its rows: while replay is paused on a standby, a post
 * written since is on the primary only.
 */
describe('streaming replicas (e2e)', () => {
  let primary: PrivatePostgres;
  const standbys: PrivatePostgres[] = [];
  let t: TestApp;
  let api: ApiClient;

  /** Polls readiness until the replicas' states are `states`; the time that took. */
  async function untilStates(states: string[], timeoutMs = 15_000, on = api): Promise<number> {
    const started = Date.now();
    const res = await readinessUntil(
      on,
      (answer) => JSON.stringify(replicasOf(answer).map((r) => r.state)) === JSON.stringify(states),
      timeoutMs,
    );
    expect(replicasOf(res).map((r) => r.state)).toEqual(states);
    return Date.now() - started;
  }

  const post = (user: TestUser, title: string, on = api) =>
    on.post('/api/posts', { title, body: 'b' }, { token: user.token });
  const list = (user: TestUser, token?: string, on = api) =>
    on.get(`/api/posts?authorId=${user.id}&limit=50`, { token });
  const exported = (user: TestUser, token?: string) =>
    api.get(`/api/posts/export?authorId=${user.id}`, { token });

  beforeAll(async () => {
    primary = await PrivatePostgres.create();
    await (await migratedDataSource(primary.url)).destroy();
    standbys.push(await primary.standby(), await primary.standby());
    t = await startTestApp({
      DATABASE_URL: primary.url,
      DATABASE_REPLICA_URLS: standbys.map((standby) => standby.url).join(','),
      DATABASE_REPLICA_MAX_LAG_MS: String(MAX_LAG_MS),
      DB_CONNECT_TIMEOUT_MS: '1000',
    });
    api = t.api;
    await untilStates(['in rotation', 'in rotation']);
  }, 240_000);

  afterAll(async () => {
    await t?.close();
    for (const standby of standbys) await standby.destroy();
    await primary?.destroy();
  });

  it("serves a user's own writes at once while replay is paused, and others' lists from a replica", async () => {
    const author = await api.createUser();
    await Promise.all(standbys.map((standby) => standby.pauseReplay(true)));
    try {
      const first = await post(author, 'first');
      expect(first.status).toBe(201);
      expect(titlesOf(await list(author, author.token))).toEqual(['first']);
      // without a token the reader is nobody in particular: a paused replica answers
      const anonymous = await list(author);
      expect(anonymous.status).toBe(200);
      expect(titlesOf(anonymous)).toEqual([]);
      // the export's own pool follows the same rules
      expect(exportedTitles(await exported(author, author.token))).toEqual(['first']);
      expect(exportedTitles(await exported(author))).toEqual([]);

      const titles = ['first'];
      for (let i = 0; i < 10; i++) {
        const title = `post ${i}`;
        expect((await post(author, title)).status).toBe(201);
        titles.unshift(title);
        expect(titlesOf(await list(author, author.token))).toEqual(titles);
      }
    } finally {
      await Promise.all(standbys.map((standby) => standby.pauseReplay(false)));
    }
    await untilStates(['in rotation', 'in rotation']);
  });

  it("serves a user's own write through another process at once, sharing a Redis, while replay is paused", async () => {
    const redis = await PrivateRedis.start();
    const env = {
      DATABASE_URL: primary.url,
      DATABASE_REPLICA_URLS: standbys.map((standby) => standby.url).join(','),
      DATABASE_REPLICA_MAX_LAG_MS: String(MAX_LAG_MS),
      DB_CONNECT_TIMEOUT_MS: '1000',
      REDIS_URL: redis.url,
      JWT_SECRET: SHARED_TEST_JWT_SECRET,
    };
    // processes of their own: each has its own fences in memory, as separate instances do
    const processes: AppProcess[] = [];
    try {
      const start = () => startAppProcess(env, { timeoutMs: 100_000 });
      const started = await Promise.allSettled([start(), start()]);
      for (const app of started) if (app.status === 'fulfilled') processes.push(app.value);
      const failed = started.find((app) => app.status === 'rejected');
      if (failed) throw failed.reason;
      const [first, second] = processes;
      const apis = [first.api, second.api];
      for (const on of apis) await untilStates(['in rotation', 'in rotation'], 15_000, on);
      const author = await first.api.createUser();
      await Promise.all(standbys.map((standby) => standby.pauseReplay(true)));
      try {
        const titles: string[] = [];
        for (let i = 0; i < 6; i++) {
          const [writer, reader] = i % 2 === 0 ? apis : [...apis].reverse();
          const title = `across ${i}`;
          expect((await post(author, title, writer)).status).toBe(201);
          titles.unshift(title);
          expect(titlesOf(await list(author, author.token, reader))).toEqual(titles);
        }
        // a paused replica still answers anonymous reads: the lists above were the primary's
        expect(titlesOf(await list(author, undefined, second.api))).toEqual([]);
      } finally {
        await Promise.all(standbys.map((standby) => standby.pauseReplay(false)));
      }
    } finally {
      await Promise.all(processes.map((app) => app.stop()));
      await redis.kill();
    }
    await untilStates(['in rotation', 'in rotation']);
  }, 240_000);

  it('takes a replica lagging past DATABASE_REPLICA_MAX_LAG_MS out of the rotation, and back once caught up', async () => {
    const author = await api.createUser();
    const [lagging] = standbys;
    await lagging.pauseReplay(true);
    let leftMs: number;
    try {
      expect((await post(author, 'behind')).status).toBe(201);
      const wroteAt = Date.now();
      const during = await readinessUntil(api, (res) => replicasOf(res)[0]?.state === 'lagging');
      leftMs = Date.now() - wroteAt - MAX_LAG_MS;
      expect(replicasOf(during)[0].state).toBe('lagging');
      expect(replicasOf(during)[1].state).toBe('in rotation');
      expect(replicasOf(during)[0].lagMs).toBeGreaterThan(MAX_LAG_MS);

      // out of the rotation, it answers nobody: every anonymous list comes from the other
      for (let i = 0; i < 10; i++) expect(titlesOf(await list(author))).toEqual(['behind']);

      const metrics = parseSamples((await api.get('/metrics')).text);
      const lag = metrics.filter((s) => s.name === 'db_replica_lag_seconds');
      const rotation = metrics.filter((s) => s.name === 'db_replica_in_rotation');
      const pools = metrics.filter((s) => s.name === 'db_replica_pool_connections');
      expect(lag.map((s) => s.labels.replica).sort()).toEqual(
        standbys.map((s) => `127.0.0.1:${s.port}/private_test`).sort(),
      );
      expect(
        lag.find((s) => s.labels.replica.includes(`:${lagging.port}/`))!.value,
      ).toBeGreaterThan(MAX_LAG_MS / 1000);
      expect(rotation.map((s) => s.value).sort()).toEqual([0, 1]);
      expect(pools.filter((s) => s.labels.state === 'total')).toHaveLength(2);
    } finally {
      await lagging.pauseReplay(false);
    }
    const rejoinMs = await untilStates(['in rotation', 'in rotation']);
    // the bound the docs promise; a tick of the poller is 250 ms, the rest is slack for a
    // loaded machine and this test's own 100 ms polling
    expect(leftMs).toBeLessThan(ROTATION_CHANGE_MS);
    expect(rejoinMs).toBeLessThan(ROTATION_CHANGE_MS);
    process.stdout.write(
      `replica out of the rotation ${leftMs} ms after its lag passed the maximum, back ${rejoinMs} ms after replay resumed\n`,
    );
  });

  it('answers every read while replicas stop (no 5xx), stays ready on the primary alone, and takes them back', async () => {
    const author = await api.createUser();
    expect((await post(author, 'kept')).status).toBe(201);
    const statuses: number[] = [];
    let reading = true;
    const readers = Array.from({ length: 4 }, async () => {
      while (reading) statuses.push((await list(author)).status);
    });
    try {
      await sleep(200);
      await standbys[1].stop('immediate');
      await untilStates(['in rotation', 'unreachable']);
      await standbys[0].stop('immediate');
      await untilStates(['unreachable', 'unreachable']);
      await sleep(300);
    } finally {
      reading = false;
      await Promise.all(readers);
    }
    expect(statuses.length).toBeGreaterThan(10);
    expect(statuses.filter((status) => status !== 200)).toEqual([]);

    const ready = await api.get('/health/ready');
    expect(ready.status).toBe(200);
    expect(ready.body.details.databaseReplicas).toMatchObject({ status: 'up', inRotation: 0 });
    expect(titlesOf(await list(author))).toEqual(['kept']);
    expect(exportedTitles(await exported(author))).toEqual(['kept']);

    for (const standby of standbys) await standby.start();
    await untilStates(['in rotation', 'in rotation']);
  });

  it('exposes every replica metric the alert rules use', async () => {
    const alerts = readFileSync(
      resolve(__dirname, '..', '..', 'deploy', 'prometheus', 'alerts.yml'),
      'utf8',
    );
    const used = selectedMetrics(alerts).filter((name) => REPLICA_METRIC.test(name));
    expect(used.length).toBeGreaterThan(0);
    const types = metricTypes((await api.get('/metrics')).text);
    expect(used.filter((name) => types.get(name) !== 'gauge')).toEqual([]);
  });

  itWithPromtool('promtool check metrics accepts the replica gauges', async () => {
    const scrape = (await api.get('/metrics')).text;
    expect(scrape).toContain('db_replica_lag_seconds{');
    expect(promtool(['check', 'metrics'], scrape)).toEqual({ status: 0, output: '' });
  });
});
