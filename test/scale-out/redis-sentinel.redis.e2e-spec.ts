import { readFileSync } from 'node:fs';
import { createClient } from '@redis/client';
import { CountingPgProxy } from '../../bench/pg-counter';
import { PUBLIC_USER_COLUMNS } from '../../src/users/users.repository';
import { CACHE_TEST_ENV } from '../cache/cache-test-env';
import { ApiClient, TestUser } from '../utils/api-client';
import { parseLogLines } from '../utils/log-lines';
import { sleep } from '../utils/net';
import { PrivateRedis } from '../utils/private-redis';
import { privateRateLimitKeyPrefix } from '../utils/rate-limits';
import { RedisSentinelTopology } from '../utils/redis-sentinel';
import { startTestApp, TestApp } from '../utils/test-app';
import { testLogFile } from '../utils/test-logs';

/** What `GET /api/users/:id` runs on a miss (`UsersRepository.findPublic`), and nothing else. */
const FIND_PUBLIC_USER = new RegExp(
  `^${`SELECT ${PUBLIC_USER_COLUMNS} FROM users u WHERE u.id = $1`.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}$`,
);
/** The `expensive` tier (the dashboard's, keyed by user): small enough to reach in a test. */
const LIMIT = 100;
/** The issue's promise: shared limits and cache back within this of the promotion. */
const RECOVERY_BOUND_MS = 10_000;

/**
 * A client address of `user`'s own (`TRUST_PROXY` takes it from `X-Forwarded-For`) and their
 * token: the dashboard's tier counts by user and by address, and every request of the suite
 * comes from 127.0.0.1.
 */
function as(user: TestUser) {
  const address = `10.0.${(user.id >> 8) & 255}.${user.id & 255}`;
  return { token: user.token, headers: { 'x-forwarded-for': address } };
}

/** `/metrics` lines of `metric`, summed over their labels. */
async function metricTotal(api: ApiClient, metric: string): Promise<number> {
  const { text } = await api.get('/metrics');
  return text
    .split('\n')
    .filter((line) => line.startsWith(`${metric}{`) || line.startsWith(`${metric} `))
    .reduce((sum, line) => sum + Number(line.slice(line.lastIndexOf(' ') + 1)), 0);
}

/**
 * Requests from `workers` loops alternating over the apps until `stop()`: reads of a user and
 * of a dashboard (limited and cached), and profile writes. Every status is kept.
 */
function mixedTraffic(apps: TestApp[], users: TestUser[], workers = 8) {
  const statuses: number[] = [];
  let running = true;
  const loops = Array.from({ length: workers }, async (_, worker) => {
    for (let i = 0; running; i++) {
      const user = users[(worker + i) % users.length];
      const api = apps[(worker + i) % apps.length].api;
      const kind = i % 4;
      const res =
        kind === 0
          ? await api.patch(`/api/users/${user.id}`, { name: `n${i}` }, as(user))
          : kind === 1
            ? await api.get(`/api/users/${user.id}/dashboard`, as(user))
            : await api.get(`/api/users/${user.id}`);
      statuses.push(res.status);
      await sleep(20);
    }
  });
  return {
    statuses,
    stop: async () => {
      running = false;
      await Promise.all(loops);
    },
  };
}

/**
 * Whether both apps count `user`'s dashboard requests in the same Redis counter: one request
 * on each, the second's remaining budget one less than the first's. During an outage the
 * limiter fails open and sends no `RateLimit-Remaining` at all.
 */
async function limitsShared(apps: TestApp[], user: TestUser): Promise<boolean> {
  const remaining = async (app: TestApp) => {
    const res = await app.api.get(`/api/users/${user.id}/dashboard`, as(user));
    const header = res.headers.get('ratelimit-remaining');
    return header === null ? undefined : Number(header);
  };
  const first = await remaining(apps[0]);
  const second = await remaining(apps[1]);
  return first !== undefined && second === first - 1;
}

/**
 * Whether the cache is shared again: a user read on one app (a miss, stored in Redis) is a
 * hit on the other, whose in-process tier never held it.
 */
async function cacheShared(apps: TestApp[]): Promise<boolean> {
  const user = await apps[0].api.createUser('probe');
  await apps[0].api.get(`/api/users/${user.id}`);
  const read = await apps[1].api.get(`/api/users/${user.id}`);
  return read.status === 200 && read.headers.get('x-cache') === 'HIT';
}

/** Polls `check` until true; the time it first was, or `undefined` after `timeoutMs`. */
async function firstTimeTrue(
  check: () => Promise<boolean>,
  timeoutMs: number,
): Promise<number | undefined> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check().catch(() => false)) return Date.now();
    await sleep(100);
  }
  return undefined;
}

/** Warnings the apps logged so far whose message matches `pattern`. */
function warnings(pattern: RegExp): string[] {
  return parseLogLines(readFileSync(testLogFile(), 'utf8'))
    .filter((line) => line.level === 'warn' && pattern.test(String(line.msg)))
    .map((line) => String(line.msg));
}

/** Connections to `server` other than the sentinels', replicas' and the one asking. */
async function appConnections(server: PrivateRedis): Promise<number> {
  const list = await server.command((client) => client.sendCommand(['CLIENT', 'LIST']));
  return String(list)
    .split('\n')
    .filter(
      (line) =>
        line.includes(' fd=') &&
        !/ name=sentinel-/.test(line) &&
        !/ flags=\w*S/.test(line) &&
        !/ cmd=client\|list/.test(line),
    ).length;
}

/**
 * Settings of an app instance on `topology` reading PostgreSQL at `databaseUrl`, with a
 * limiter namespace of the suite's own that its instances share.
 */
function instanceEnv(
  topology: RedisSentinelTopology,
  databaseUrl: string,
  rateLimitKeyPrefix: string,
): Record<string, string | undefined> {
  return {
    ...CACHE_TEST_ENV,
    ...topology.env,
    REDIS_URL: undefined,
    DATABASE_URL: databaseUrl,
    LOG_LEVEL: 'info',
    RATE_LIMIT_KEY_PREFIX: rateLimitKeyPrefix,
    RATE_LIMIT_EXPENSIVE: `${LIMIT}/1h`,
    RATE_LIMIT_FAIL_OPEN: 'true',
    TRUST_PROXY: '127.0.0.1',
    // a busy test machine's wait for a pooled connection (a 503) must not pass for a
    // failure of Redis' failover
    DB_CONNECT_TIMEOUT_MS: '20000',
  };
}

/**
 * Two app instances on a Redis primary, its replica and three sentinels, every one a
 * process of this suite's own (`REDIS_SENTINELS`, no `REDIS_URL`): limits and cache are
 * exact across the instances, and survive a crash or a freeze of the primary without a
 * restart of the apps.
 */
describe('Redis Sentinel: two instances, failover under load (e2e)', () => {
  let topology: RedisSentinelTopology;
  let userLoads: CountingPgProxy;
  let apps: TestApp[] = [];

  beforeAll(async () => {
    topology = await RedisSentinelTopology.start();
    userLoads = await CountingPgProxy.start(process.env.DATABASE_URL!, FIND_PUBLIC_USER);
    const env = instanceEnv(topology, userLoads.url, privateRateLimitKeyPrefix());
    apps = [await startTestApp(env), await startTestApp(env)];
  }, 300_000);
  afterAll(async () => {
    await Promise.all(apps.map((app) => app.close()));
    await userLoads?.close();
    await topology?.stop();
  });

  describe('exactness across the instances', () => {
    it(`admits exactly ${LIMIT} of 500 concurrent requests spread over both`, async () => {
      const user = await apps[0].api.createUser('burst');
      const responses = await Promise.all(
        Array.from({ length: 500 }, (_, i) =>
          apps[i % 2].api.get(`/api/users/${user.id}/dashboard`, as(user)),
        ),
      );
      const ok = responses.filter((res) => res.status === 200).length;
      const refused = responses.filter((res) => res.status === 429).length;
      expect({ ok, refused }).toEqual({ ok: LIMIT, refused: 500 - LIMIT });
    });

    it('serves a write through one instance on the very next read of the other', async () => {
      const user = await apps[0].api.createUser('Before');
      expect((await apps[1].api.get(`/api/users/${user.id}`)).body.name).toBe('Before');
      expect((await apps[1].api.get(`/api/users/${user.id}`)).headers.get('x-cache')).toBe('HIT');
      const patch = await apps[0].api.patch(
        `/api/users/${user.id}`,
        { name: 'After' },
        { token: user.token },
      );
      expect(patch.status).toBe(200);
      expect((await apps[1].api.get(`/api/users/${user.id}`)).body.name).toBe('After');
    });

    it('loads a cold key at most once per instance for 200 concurrent reads', async () => {
      const user = await apps[0].api.createUser('Stampede');
      const before = userLoads.count;
      const responses = await Promise.all(
        Array.from({ length: 200 }, (_, i) => apps[i % 2].api.get(`/api/users/${user.id}`)),
      );
      expect(responses.every((res) => res.status === 200 && res.body.id === user.id)).toBe(true);
      // Redis' fill lock makes it one load in all; the promise is one per instance at most
      expect(userLoads.count - before).toBeGreaterThanOrEqual(1);
      expect(userLoads.count - before).toBeLessThanOrEqual(apps.length);
    });
  });

  describe('SIGKILL of the primary under mixed traffic (RATE_LIMIT_FAIL_OPEN=true)', () => {
    let statuses: number[] = [];
    let killedAt = 0;
    let promotedAt = 0;
    let limitsBackAt: number | undefined;
    let cacheBackAt: number | undefined;
    let warningsBefore = 0;
    let failoverRequests = 0;

    beforeAll(async () => {
      const users = await Promise.all(
        Array.from({ length: 6 }, (_, i) => apps[i % 2].api.createUser(`load ${i}`)),
      );
      const probe = await apps[0].api.createUser('limits probe');
      expect(await limitsShared(apps, probe)).toBe(true);
      warningsBefore = warnings(/Redis/).length;
      const traffic = mixedTraffic(apps, users);
      await sleep(500);
      const primary = await topology.primary();
      const countBefore = traffic.statuses.length;
      killedAt = Date.now();
      await primary.kill();
      const promoted = topology.waitForPromotion(primary.port).then(() => Date.now());
      limitsBackAt = await firstTimeTrue(() => limitsShared(apps, probe), 60_000);
      promotedAt = await promoted;
      cacheBackAt = await firstTimeTrue(() => cacheShared(apps), 30_000);
      await sleep(500);
      await traffic.stop();
      statuses = traffic.statuses;
      failoverRequests = statuses.length - countBefore;
      process.stdout.write(
        `Redis Sentinel failover (down-after-milliseconds 1000): kill → promotion ` +
          `${promotedAt - killedAt} ms, kill → shared limits back ` +
          `${limitsBackAt === undefined ? 'never' : `${limitsBackAt - killedAt} ms`}, ` +
          `kill → shared cache back ${cacheBackAt === undefined ? 'never' : `${cacheBackAt - killedAt} ms`}; ` +
          `${failoverRequests} requests meanwhile\n`,
      );
    }, 180_000);

    it('answers every request of the mixed traffic without a 5xx', () => {
      expect(failoverRequests).toBeGreaterThan(0);
      expect(statuses.filter((status) => status >= 500)).toEqual([]);
    });

    it(`counts limits in the promoted primary again within ${RECOVERY_BOUND_MS / 1000} s of the promotion, without a restart`, () => {
      expect(limitsBackAt).toBeDefined();
      expect(limitsBackAt! - promotedAt).toBeLessThan(RECOVERY_BOUND_MS);
    });

    it(`shares the cache through the promoted primary within ${RECOVERY_BOUND_MS / 1000} s of the promotion`, () => {
      expect(cacheBackAt).toBeDefined();
      expect(cacheBackAt! - promotedAt).toBeLessThan(RECOVERY_BOUND_MS);
    });

    it('says so in a few warnings and a metric, not once per request', async () => {
      const logged = warnings(/Redis/).slice(warningsBefore);
      expect(logged.some((msg) => /Redis primary mymaster moved to/.test(msg))).toBe(true);
      // per instance: the cache's and the limiter's "unreachable", the guard's fail-open
      // line, and the move (once per process): a handful, however many requests failed
      expect(logged.length).toBeLessThanOrEqual(5 * apps.length);
      expect(failoverRequests).toBeGreaterThan(logged.length);
      expect(await metricTotal(apps[0].api, 'redis_primary_changes_total')).toBeGreaterThan(0);
      const losses = await metricTotal(apps[0].api, 'redis_unavailable_total');
      expect(losses).toBeGreaterThan(0);
      expect(losses).toBeLessThan(failoverRequests);
    });
  });

  describe('a frozen primary (SIGSTOP: the port answers nothing, calls time out)', () => {
    let frozen: PrivateRedis;
    const latencies: number[] = [];
    const statuses: number[] = [];
    let limitsBackAt: number | undefined;
    let frozenAt = 0;

    beforeAll(async () => {
      // the crashed primary of the test above comes back empty; the sentinels make it a replica
      const old = topology.servers.find((server) => server.pid === undefined)!;
      await old.restart();
      const primary = await topology.primary();
      await topology.waitUntilReplicated(old);
      const probe = await apps[1].api.createUser('freeze probe');
      const counted = await apps[1].api.createUser('freeze limits');
      frozenAt = Date.now();
      frozen = primary;
      frozen.pause();
      const stopAt = Date.now() + 4_000;
      const timed = async (app: TestApp, path: string) => {
        const started = Date.now();
        const res = await app.api.get(path, as(probe));
        latencies.push(Date.now() - started);
        statuses.push(res.status);
      };
      while (Date.now() < stopAt) {
        await Promise.all(
          apps.flatMap((app) => [
            timed(app, `/api/users/${probe.id}`),
            timed(app, `/api/users/${probe.id}/dashboard`),
          ]),
        );
      }
      limitsBackAt = await firstTimeTrue(() => limitsShared(apps, counted), 60_000);
    }, 120_000);
    afterAll(() => frozen?.resume());

    it('answers every request, each within a bound of the command timeouts, never a 5xx', () => {
      expect(statuses.length).toBeGreaterThan(0);
      expect(statuses.filter((status) => status >= 500)).toEqual([]);
      // The storage and cache timeouts are 100 ms each; 3 s is far above them and far below
      // what a queue waiting for the frozen server would cost (the whole freeze).
      expect(Math.max(...latencies)).toBeLessThan(3_000);
    });

    it('follows the sentinels to the other server by itself and counts limits there again', () => {
      expect(limitsBackAt).toBeDefined();
      process.stdout.write(
        `Redis Sentinel, frozen primary: freeze → shared limits back ${limitsBackAt! - frozenAt} ms\n`,
      );
    });
  });
});

/**
 * A frozen primary and no replica left to promote: the sentinels keep naming it, and
 * node-redis keeps a client that counts itself connected to it. `RedisConnection` rebuilds
 * such a connection on the sentinels' word after 8 s without an answer (node-redis can stay on
 * a lost primary for good); once the primary thaws the instances share limits again, and the
 * clients they gave up leave no connection behind.
 */
describe('Redis Sentinel: a frozen primary with no replica to promote (e2e)', () => {
  const rebuilt = /asking the sentinels anew/;
  let topology: RedisSentinelTopology;
  let apps: TestApp[] = [];

  beforeAll(async () => {
    topology = await RedisSentinelTopology.start();
    const env = instanceEnv(topology, process.env.DATABASE_URL!, privateRateLimitKeyPrefix());
    apps = [await startTestApp(env), await startTestApp(env)];
  }, 300_000);
  afterAll(async () => {
    topology?.servers.forEach((server) => server.resume());
    await Promise.all(apps.map((app) => app.close()));
    await topology?.stop();
  });

  it('rebuilds its connections meanwhile, and shares limits again once the primary thaws', async () => {
    const user = await apps[0].api.createUser('thaw probe');
    expect(await firstTimeTrue(() => limitsShared(apps, user), 20_000)).toBeDefined();
    const primary = await topology.primary();
    const connectionsBefore = await appConnections(primary);
    await Promise.all(
      topology.servers.filter((server) => server !== primary).map((server) => server.kill()),
    );
    const rebuildsBefore = warnings(rebuilt).length;
    primary.pause();
    try {
      // the limiter's calls time out (the frozen port says nothing), which starts the probes
      const rebuiltAt = await firstTimeTrue(async () => {
        await Promise.all(
          apps.map((app) => app.api.get(`/api/users/${user.id}/dashboard`, as(user))),
        );
        return warnings(rebuilt).length > rebuildsBefore;
      }, 30_000);
      expect(rebuiltAt).toBeDefined();
    } finally {
      primary.resume();
    }
    expect(await firstTimeTrue(() => limitsShared(apps, user), 30_000)).toBeDefined();
    const closed = await firstTimeTrue(
      async () => (await appConnections(primary)) <= connectionsBefore,
      10_000,
    );
    expect(closed).toBeDefined();
  }, 120_000);
});

/**
 * The same topology with `requirepass` on every server and sentinel (REDIS_SENTINEL_PASSWORD,
 * REDIS_SENTINEL_MASTER_PASSWORD): the instances find the primary, share limits, and follow a
 * failover, whose probes of the new primary authenticate too.
 */
describe('Redis Sentinel with passwords (e2e)', () => {
  const password = 'sentinel-e2e-secret';
  let topology: RedisSentinelTopology;
  let apps: TestApp[] = [];

  beforeAll(async () => {
    topology = await RedisSentinelTopology.start({ password });
    const env = instanceEnv(topology, process.env.DATABASE_URL!, privateRateLimitKeyPrefix());
    apps = [await startTestApp(env), await startTestApp(env)];
  }, 300_000);
  afterAll(async () => {
    await Promise.all(apps.map((app) => app.close()));
    await topology?.stop();
  });

  it('is a topology that refuses clients without the password', async () => {
    const anonymous = createClient({
      socket: { host: '127.0.0.1', port: topology.sentinels[0].port, reconnectStrategy: false },
    });
    anonymous.on('error', () => undefined);
    try {
      await expect(anonymous.connect().then(() => anonymous.ping())).rejects.toThrow(/NOAUTH/);
    } finally {
      if (anonymous.isOpen) anonymous.destroy();
    }
  });

  it('shares limits and follows a failover of the primary, authenticating everywhere', async () => {
    const probe = await apps[0].api.createUser('auth probe');
    expect(await firstTimeTrue(() => limitsShared(apps, probe), 20_000)).toBeDefined();
    const primary = await topology.primary();
    await primary.kill();
    const promotedAt = await topology.waitForPromotion(primary.port).then(() => Date.now());
    const limitsBackAt = await firstTimeTrue(() => limitsShared(apps, probe), 60_000);
    expect(limitsBackAt).toBeDefined();
    expect(limitsBackAt! - promotedAt).toBeLessThan(RECOVERY_BOUND_MS);
  }, 120_000);
});
