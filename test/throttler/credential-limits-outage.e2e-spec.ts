import { randomUUID } from 'node:crypto';
import { register } from 'prom-client';
import { PrivateRedis } from '../utils/private-redis';
import { CONTRACT_RATE_LIMITS } from '../utils/rate-limits';
import { startTestApp, TestApp } from '../utils/test-app';

const from = (address: string) => ({ headers: { 'x-forwarded-for': address } });
const email = () => `outage-${randomUUID()}@example.test`;

async function storageFailures(): Promise<number> {
  const metric = await register.getSingleMetric('rate_limit_storage_failures_total')?.get();
  return metric?.values[0]?.value ?? 0;
}

describe('login and registration limits hold while Redis is away (e2e, a redis-server of its own)', () => {
  let redis: PrivateRedis;
  let t: TestApp;

  beforeAll(async () => {
    redis = await PrivateRedis.start();
    t = await startTestApp({
      ...CONTRACT_RATE_LIMITS,
      REDIS_URL: redis.url,
      RATE_LIMIT_FAIL_OPEN: 'true',
      RATE_LIMIT_REGISTER: '3/1h',
      TRUST_PROXY: '127.0.0.1',
    });
    // counters in Redis while it is up
    expect(
      (await t.api.post('/api/auth/login', { email: email(), password: 'x' }, from('192.0.2.9')))
        .status,
    ).toBe(401);
    expect(await redis.command((client) => client.keys('*auth*'))).not.toHaveLength(0);
    await redis.kill();
  });
  afterAll(async () => {
    await t?.close();
    await redis?.kill();
  });

  it('14 failed logins from one address: the 11th and later are 429, counted in process', async () => {
    const statuses: number[] = [];
    for (let i = 0; i < 14; i++) {
      const res = await t.api.post(
        '/api/auth/login',
        { email: email(), password: 'wrong-password' },
        from('192.0.2.10'),
      );
      statuses.push(res.status);
    }
    expect(statuses).toEqual([...Array(10).fill(401), ...Array(4).fill(429)]);
  });

  it('the (address, account) counter too: the 6th guess at one account is 429', async () => {
    const target = email();
    const statuses: number[] = [];
    for (let i = 0; i < 6; i++) {
      const res = await t.api.post(
        '/api/auth/login',
        { email: target, password: 'wrong-password' },
        from('192.0.2.11'),
      );
      statuses.push(res.status);
    }
    expect(statuses).toEqual([...Array(5).fill(401), 429]);
  });

  it('registrations stay limited per address (3 per hour here)', async () => {
    const statuses: number[] = [];
    for (let i = 0; i < 4; i++) {
      const res = await t.api.post(
        '/api/auth/register',
        { email: email(), password: 'password123', name: 'R' },
        from('192.0.2.12'),
      );
      statuses.push(res.status);
    }
    expect(statuses).toEqual([201, 201, 201, 429]);
  });

  it('the other tiers follow RATE_LIMIT_FAIL_OPEN=true: through, unlimited, each failure counted', async () => {
    const before = await storageFailures();
    const res = await t.api.get('/api/config', from('192.0.2.13'));
    expect(res.status).toBe(200);
    expect(res.headers.get('ratelimit-limit')).toBeNull();
    expect(await storageFailures()).toBe(before + 1);
  });
});
