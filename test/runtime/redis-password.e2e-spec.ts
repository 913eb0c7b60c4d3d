import { randomBytes } from 'node:crypto';
import { createClient } from '@redis/client';
import { AppProcess, startAppProcess } from '../utils/app-process';
import { sleep } from '../utils/net';
import { PrivateRedis } from '../utils/private-redis';
import { privateRateLimitKeyPrefix } from '../utils/rate-limits';
import { startTestApp, TestApp } from '../utils/test-app';
import { readinessUntil } from '../utils/readiness';

/**
 * Redis as docker-compose.yml runs it: private, with `requirepass`, and `REDIS_URL` carrying
 * the password (`redis://:<password>@redis:6379`).
 */
describe('Redis with a password (e2e, private redis-server --requirepass)', () => {
  const password = randomBytes(18).toString('hex');
  let redis: PrivateRedis;

  beforeAll(async () => {
    redis = await PrivateRedis.start({ password });
  });
  afterAll(() => redis?.kill());

  it('refuses clients without the password', async () => {
    const anonymous = createClient({
      url: `redis://127.0.0.1:${redis.port}`,
      socket: { reconnectStrategy: false },
    });
    anonymous.on('error', () => undefined);
    await anonymous.connect();
    try {
      await expect(anonymous.get('loadstar:v2:{user:1}')).rejects.toThrow(/NOAUTH/);
    } finally {
      anonymous.destroy();
    }
  });

  describe('with the password in REDIS_URL', () => {
    const keyPrefix = privateRateLimitKeyPrefix();
    let t: TestApp;
    beforeAll(async () => {
      t = await startTestApp({
        REDIS_URL: redis.url,
        RATE_LIMIT_DEFAULT: '3/1m',
        RATE_LIMIT_KEY_PREFIX: keyPrefix,
        TRUST_PROXY: '127.0.0.1',
      });
    });
    afterAll(() => t?.close());

    it('is ready, with Redis up', async () => {
      const ready = await readinessUntil(t.api);
      expect([ready.status, ready.body.degraded, ready.body.details.redis]).toEqual([
        200,
        [],
        { status: 'up' },
      ]);
    });

    it('caches in that Redis', async () => {
      const user = await t.api.createUser('Behind a password');
      // a client of its own: the limit of 3 is for the test below
      const as = { headers: { 'x-forwarded-for': '192.0.2.30' } };
      await t.api.get(`/api/users/${user.id}`, as);
      const hit = await t.api.get(`/api/users/${user.id}`, as);
      expect(hit.headers.get('x-cache')).toBe('HIT');
      expect(await redis.command((client) => client.exists(`loadstar:v2:{user:${user.id}}`))).toBe(
        1,
      );
    });

    it('counts rate limits in that Redis', async () => {
      const as = { headers: { 'x-forwarded-for': '192.0.2.33' } };
      const statuses = [];
      for (let i = 0; i < 4; i++) statuses.push((await t.api.get('/api/config', as)).status);
      expect(statuses).toEqual([200, 200, 200, 429]);
      const counters = await redis.command((client) => client.keys(`${keyPrefix}*`));
      expect(counters.length).toBeGreaterThan(0);
    });
  });

  describe('with a wrong password', () => {
    const wrong = randomBytes(18).toString('hex');
    let app: AppProcess;
    beforeAll(async () => {
      app = await startAppProcess(
        { REDIS_URL: redis.url.replace(password, wrong), LOG_LEVEL: 'debug' },
        { timeoutMs: 90_000 },
      );
    }, 120_000);
    afterAll(() => app?.stop());

    it('serves, reports Redis as degraded with the reason, and never shows a password', async () => {
      expect((await app.api.get('/api/config')).status).toBe(200);
      const ready = await app.api.get('/health/ready');
      expect(ready.status).toBe(200);
      expect(ready.body).toMatchObject({
        degraded: ['redis'],
        details: { redis: { status: 'down', message: expect.stringMatching(/WRONGPASS/) } },
      });
      // the limiter's warning says why, once
      for (let waited = 0; waited < 5_000 && !/WRONGPASS/.test(app.output()); waited += 100) {
        await sleep(100);
      }
      expect(app.output()).toMatch(/Redis unreachable.*WRONGPASS/);
      for (const secret of [password, wrong]) {
        expect(ready.text).not.toContain(secret);
        expect(app.output()).not.toContain(secret);
      }
    });
  });
});
