import { getStorageToken, ThrottlerStorage } from '@nestjs/throttler';
import { register } from 'prom-client';
import { ApiResponse, errorBody } from '../utils/api-client';
import { sleep } from '../utils/net';
import { PrivateRedis } from '../utils/private-redis';
import { startTestApp, TestApp } from '../utils/test-app';

async function storageFailures(): Promise<number> {
  const metric = await register.getSingleMetric('rate_limit_storage_failures_total')?.get();
  return metric?.values[0]?.value ?? 0;
}

const as = (address: string) => ({ headers: { 'x-forwarded-for': address } });

async function statuses(t: TestApp, address: string, count: number): Promise<number[]> {
  const seen: number[] = [];
  for (let i = 0; i < count; i++) seen.push((await t.api.get('/api/config', as(address))).status);
  return seen;
}

function expectUnavailable(res: ApiResponse): void {
  expect(res.status).toBe(503);
  expect(res.body).toEqual(errorBody(503, 'Rate limiting is unavailable; retry shortly'));
  expect(Number(res.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
}

describe('rate-limit storage outage (e2e, a redis-server of its own)', () => {
  let redis: PrivateRedis;
  let failOpen: TestApp;
  let failClosed: TestApp;

  beforeAll(async () => {
    redis = await PrivateRedis.start();
    // every hit counted in Redis as it comes (no lease): these tests count Redis's counts
    const env = {
      REDIS_URL: redis.url,
      RATE_LIMIT_DEFAULT: '3/1m',
      RATE_LIMIT_LEASE_PERCENT: '0',
      TRUST_PROXY: '127.0.0.1',
    };
    failOpen = await startTestApp({ ...env, RATE_LIMIT_FAIL_OPEN: 'true' });
    failClosed = await startTestApp({ ...env, RATE_LIMIT_FAIL_OPEN: 'false' });
  });
  afterAll(async () => {
    await Promise.all([failOpen?.close(), failClosed?.close()]);
    await redis?.kill();
  });

  it('limits through that Redis while it is up', async () => {
    expect(await statuses(failOpen, '192.0.2.1', 4)).toEqual([200, 200, 200, 429]);
    expect(await statuses(failClosed, '192.0.2.1', 1)).toEqual([200]);
  });

  it('a reply that arrived while this event loop lagged past the timeout still counts', async () => {
    const storage = failOpen.app.get<ThrottlerStorage>(getStorageToken(), { strict: false });
    const hit = storage.increment('lagged-loop', 60_000, 10, 0, 'default');
    await new Promise(setImmediate); // the batch leaves
    await new Promise(setImmediate); // node-redis writes it
    const lagUntil = Date.now() + 600; // over the 250 ms storage timeout, as a burst would lag it
    while (Date.now() < lagUntil);
    await expect(hit).resolves.toMatchObject({ totalHits: 1, isBlocked: false });
  });

  it('a lag after a batch left, before node-redis wrote it, is not taken for a slow Redis', async () => {
    const storage = failOpen.app.get<ThrottlerStorage>(getStorageToken(), { strict: false });
    const hit = storage.increment('lagged-write', 60_000, 10, 0, 'default');
    await new Promise(setImmediate); // the batch leaves; node-redis writes it next turn
    const lagUntil = Date.now() + 600;
    while (Date.now() < lagUntil);
    await expect(hit).resolves.toMatchObject({ totalHits: 1, isBlocked: false });
  });

  it('counts hits arriving together exactly, each its own count, in one script call', async () => {
    const storage = failOpen.app.get<ThrottlerStorage>(getStorageToken(), { strict: false });
    const before = await redis.calls('evalsha');
    const burst = Array.from({ length: 250 }, () =>
      storage.increment('burst-a', 60_000, 200, 0, 'default'),
    );
    const other = Array.from({ length: 3 }, () =>
      storage.increment('burst-b', 30_000, 200, 0, 'default'),
    );
    const counted = await Promise.all(burst);
    const otherCounted = await Promise.all(other);
    expect(await redis.calls('evalsha')).toBe(before + 1);
    expect(counted.map((record) => record.totalHits)).toEqual(
      Array.from({ length: 250 }, (_, i) => i + 1),
    );
    expect(counted.filter((record) => record.isBlocked)).toHaveLength(50);
    expect(otherCounted.map((record) => record.totalHits)).toEqual([1, 2, 3]);
    expect(otherCounted[0].timeToExpire).toBe(30);
    expect(await redis.command((client) => client.get('burst-a'))).toBe('250');
    expect(await redis.command((client) => client.pTTL('burst-b'))).toBeGreaterThan(29_000);
  });

  it('sends a burst of more than 1 000 keys as several script calls', async () => {
    const storage = failOpen.app.get<ThrottlerStorage>(getStorageToken(), { strict: false });
    const before = await redis.calls('evalsha');
    const records = await Promise.all(
      Array.from({ length: 1_001 }, (_, i) =>
        storage.increment(`wide-${i}`, 60_000, 1, 0, 'default'),
      ),
    );
    expect(records.every((record) => record.totalHits === 1 && !record.isBlocked)).toBe(true);
    expect(await redis.calls('evalsha')).toBe(before + 2);
  });

  it('Redis frozen: each check gives up within its timeout instead of waiting for Redis', async () => {
    redis.pause();
    try {
      // a failed login: a route whose handler does not use Redis, so only the limiter could wait
      const login = { email: 'nobody@example.test', password: 'wrong-password' };
      const [open, closed] = await Promise.all([
        failOpen.api.post('/api/auth/login', login, as('192.0.2.2')),
        failClosed.api.post('/api/auth/login', login, as('192.0.2.2')),
      ]);
      expect(open.status).toBe(401);
      expect(open.headers.get('ratelimit-limit')).toBeNull();
      expectUnavailable(closed);
    } finally {
      redis.resume();
    }
  });

  describe('Redis stopped', () => {
    beforeAll(() => redis.kill());

    it('fail-open lets every request through, unlimited, and counts each failure', async () => {
      const before = await storageFailures();
      // 192.0.2.1 is over its limit in Redis, but Redis cannot say so
      const responses: ApiResponse[] = [];
      for (let i = 0; i < 5; i++)
        responses.push(await failOpen.api.get('/api/config', as('192.0.2.1')));
      expect(responses.map((res) => res.status)).toEqual(Array(5).fill(200));
      expect(responses.every((res) => res.headers.get('ratelimit-limit') === null)).toBe(true);
      expect(await storageFailures()).toBe(before + 5);
    });

    it('fail-closed answers 503 in the error shape, with Retry-After', async () => {
      expectUnavailable(await failClosed.api.get('/api/config', as('192.0.2.3')));
      expectUnavailable(await failClosed.api.get('/api/users/1', as('192.0.2.3')));
    });
  });

  describe('Redis back (started again, empty)', () => {
    beforeAll(() => redis.restart());

    it('limiting resumes without a restart of the app', async () => {
      // the client reconnects with a backoff of at most a second
      let first: ApiResponse | undefined;
      for (let waited = 0; waited < 10_000; waited += 100) {
        first = await failOpen.api.get('/api/config', as('192.0.2.4'));
        if (first.headers.get('ratelimit-limit') !== null) break;
        await sleep(100);
      }
      expect(first?.headers.get('ratelimit-remaining')).toBe('2');
      expect(await statuses(failOpen, '192.0.2.4', 3)).toEqual([200, 200, 429]);
    });

    it('fail-closed serves again', async () => {
      // its own connection reconnects with the same backoff, not necessarily with fail-open's
      for (let waited = 0; waited < 10_000; waited += 100) {
        if ((await failClosed.api.get('/api/config', as('192.0.2.6'))).status !== 503) break;
        await sleep(100);
      }
      expect(await statuses(failClosed, '192.0.2.5', 4)).toEqual([200, 200, 200, 429]);
    });
  });
});
