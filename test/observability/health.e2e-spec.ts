import { ReadinessState } from '@app/health';
import type { Client } from 'pg';
import { ApiResponse } from '../utils/api-client';
import { sleep } from '../utils/net';
import { PrivatePostgres } from '../utils/private-postgres';
import { PrivateRedis } from '../utils/private-redis';
import { parseSamples } from '../utils/prometheus-text';
import { startTestApp, TestApp } from '../utils/test-app';
import { readinessUntil } from '../utils/readiness';

const POOL_MAX = 2;
const OPERATIONS_ROUTES = ['/health/live', '/health/ready', '/metrics'];

/**
 * Liveness and readiness of an app on a PostgreSQL cluster of this suite's own, which it stops
 * and starts again; the shared server is never touched.
 */
describe('health endpoints (e2e, private PostgreSQL)', () => {
  let pg: PrivatePostgres;
  let t: TestApp;

  beforeAll(async () => {
    pg = await PrivatePostgres.create();
    t = await startTestApp({
      DATABASE_URL: pg.url,
      DB_POOL_MAX: String(POOL_MAX),
      DB_CONNECT_TIMEOUT_MS: '1000',
      RATE_LIMIT_DEFAULT: '2/1m',
      // so that each request below the limit's test can come from a client of its own
      TRUST_PROXY: '127.0.0.1',
    });
  }, 60_000);

  afterAll(async () => {
    await t?.close();
    await pg?.destroy();
  });

  /** Polls `GET path` until it answers `status`; the last response either way. */
  async function until(path: string, status: number, timeoutMs = 20_000): Promise<ApiResponse> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const res = await t.api.get(path);
      if (res.status === status || Date.now() > deadline) return res;
      await sleep(200);
    }
  }

  it('/health/live and /health/ready answer 200 with what they checked', async () => {
    const live = await t.api.get('/health/live');
    expect(live.status).toBe(200);
    expect(live.body).toMatchObject({ status: 'ok' });
    expect(Object.keys(live.body.details).sort()).toEqual(['eventLoop', 'heap']);
    const ready = await readinessUntil(t.api);
    expect(ready.status).toBe(200);
    expect(ready.body.degraded).toEqual([]);
    expect(ready.body.details).toMatchObject({
      database: { status: 'up' },
      eventLoop: { status: 'up' },
      ...(t.config.health.redisConnection ? { redis: { status: 'up' } } : {}),
    });
  });

  it('health and metrics routes are never rate limited nor cached', async () => {
    const limited = [];
    for (let i = 0; i < 3; i++) limited.push((await t.api.get('/api/config')).status);
    expect(limited).toEqual([200, 200, 429]);
    for (const path of OPERATIONS_ROUTES) {
      for (let i = 0; i < 5; i++) {
        const res = await t.api.get(path);
        expect(res.status).toBe(200);
        expect(res.headers.get('ratelimit-limit')).toBeNull();
        expect(res.headers.get('cache-control')).toContain('no-store');
      }
    }
  });

  it('an exhausted pool is load, not an outage: readiness stays 200', async () => {
    const locker: Client = await pg.connect();
    try {
      await locker.query('BEGIN');
      await locker.query('LOCK TABLE users IN ACCESS EXCLUSIVE MODE');
      // uncached reads queue behind the lock and hold every pooled connection
      const reads = Array.from({ length: POOL_MAX + 2 }, (_, i) =>
        t.api.get(`/api/users/${1_000_000 + i}`, {
          headers: { 'x-forwarded-for': `203.0.113.${i + 1}` },
        }),
      );
      let waiting = 0;
      const deadline = Date.now() + 5_000;
      while (waiting === 0 && Date.now() < deadline) {
        const scrape = parseSamples((await t.api.get('/metrics')).text);
        waiting =
          scrape.find(
            (sample) => sample.name === 'db_pool_connections' && sample.labels.state === 'waiting',
          )?.value ?? 0;
        await sleep(50);
      }
      expect(waiting).toBeGreaterThan(0);
      const ready = await t.api.get('/health/ready');
      expect(ready.status).toBe(200);
      await locker.query('COMMIT');
      for (const read of await Promise.all(reads)) expect(read.status).toBe(404);
    } finally {
      await locker.end();
    }
  });

  it('/health/ready is 503 naming the database while PostgreSQL is down, 200 once it is back', async () => {
    await pg.stop('fast');
    try {
      const down = await until('/health/ready', 503);
      expect(down.status).toBe(503);
      expect(down.body).toMatchObject({
        statusCode: 503,
        error: 'Service Unavailable',
        message: expect.stringMatching(/^unhealthy: database \(/),
        requestId: down.headers.get('x-request-id'),
        details: { database: { status: 'down' }, eventLoop: { status: 'up' } },
      });
      expect(down.headers.get('cache-control')).toContain('no-store');
      // liveness checks no dependency: restarting the process would not bring the database back
      expect((await t.api.get('/health/live')).status).toBe(200);
    } finally {
      await pg.start();
    }
    const back = await until('/health/ready', 200);
    expect(back.status).toBe(200);
    expect(back.body.details.database).toEqual({ status: 'up' });
  });

  it('/health/ready is 503 from the moment shutdown begins', async () => {
    t.app.get(ReadinessState).markShuttingDown();
    const res = await t.api.get('/health/ready');
    expect(res.status).toBe(503);
    expect(res.body).toMatchObject({ message: 'unhealthy: shutdown (shutting down)' });
    expect((await t.api.get('/health/live')).status).toBe(200);
  });
});

/** Readiness while a Redis of the suite's own is killed and restarted. */
describe('readiness and Redis (e2e, private redis-server)', () => {
  let redis: PrivateRedis;
  let optional: TestApp;
  let required: TestApp;

  beforeAll(async () => {
    redis = await PrivateRedis.start();
    optional = await startTestApp({ REDIS_URL: redis.url });
    // a limiter that fails closed cannot serve without Redis: Redis is then required
    required = await startTestApp({ REDIS_URL: redis.url, RATE_LIMIT_FAIL_OPEN: 'false' });
  }, 60_000);

  afterAll(async () => {
    await Promise.all([optional?.close(), required?.close()]);
    await redis?.kill();
  });

  it('Redis down: 200 with Redis degraded where the app serves without it, 503 where required', async () => {
    for (const app of [optional, required]) {
      const up = await readinessUntil(app.api);
      expect([up.status, up.body.degraded, up.body.details.redis]).toEqual([
        200,
        [],
        { status: 'up' },
      ]);
    }
    await redis.kill();
    try {
      const degraded = await readinessUntil(optional.api, (res) => res.body.degraded?.length > 0);
      expect(degraded.status).toBe(200);
      expect(degraded.body).toMatchObject({
        status: 'ok',
        degraded: ['redis'],
        details: { database: { status: 'up' }, redis: { status: 'down' } },
      });
      // it really serves: reads, writes and limited routes answer without Redis
      const user = await optional.api.createUser('Redis away');
      expect((await optional.api.get(`/api/users/${user.id}`)).status).toBe(200);
      expect((await optional.api.get('/api/config')).status).toBe(200);

      const down = await readinessUntil(required.api, (res) => res.status === 503);
      expect(down.status).toBe(503);
      expect(down.body).toMatchObject({
        statusCode: 503,
        message: expect.stringMatching(/^unhealthy: redis \(/),
        details: { database: { status: 'up' }, redis: { status: 'down' } },
      });
    } finally {
      await redis.restart();
    }
    const back = await readinessUntil(optional.api);
    expect([back.status, back.body.degraded]).toEqual([200, []]);
    expect((await readinessUntil(required.api)).status).toBe(200);
  });
});
