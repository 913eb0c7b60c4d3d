import { register } from 'prom-client';
import { TestUser } from '../utils/api-client';
import { sleep } from '../utils/net';
import { startTestApp, TestApp } from '../utils/test-app';

let nextClient = 0;
/** The loopback proxy is trusted (TRUST_PROXY=127.0.0.1): each test speaks as its own client. */
function clientHeaders(): Record<string, string> {
  nextClient += 1;
  return { 'x-forwarded-for': `203.0.113.${nextClient}` };
}

async function rejectionsOf(tier: string): Promise<number> {
  const metric = await register.getSingleMetric('rate_limit_rejections_total')?.get();
  return metric?.values.find((value) => value.labels.tier === tier)?.value ?? 0;
}

describe('rate limits of the API (e2e)', () => {
  let t: TestApp;
  let ann: TestUser;
  let bob: TestUser;

  beforeAll(async () => {
    t = await startTestApp({
      RATE_LIMIT_DEFAULT: '20/1m',
      RATE_LIMIT_AUTH: '10/5s',
      RATE_LIMIT_AUTH_ACCOUNT_ADDRESS: '10/5s',
      RATE_LIMIT_EXPENSIVE: '3/1m',
      TRUST_PROXY: '127.0.0.1',
    });
    [ann, bob] = [await t.api.createUser('Ann'), await t.api.createUser('Bob')];
  });
  afterAll(() => t.close());

  it('sends the limit headers on API routes', async () => {
    const res = await t.api.get('/api/config', { headers: clientHeaders() });
    expect(res.status).toBe(200);
    expect(res.headers.get('ratelimit-limit')).toBe('20');
    expect(res.headers.get('ratelimit-remaining')).toBe('19');
    expect(Number(res.headers.get('ratelimit-reset'))).toBeGreaterThan(0);
  });

  describe('POST /api/auth/login (failures: 10 per window by address, 10 by address and email)', () => {
    const failedLogin = (headers: Record<string, string>, email: string) =>
      t.api.post('/api/auth/login', { email, password: 'wrong-password' }, { headers });

    it('refuses the 11th failed login with 429 and Retry-After, and allows one after the window', async () => {
      const headers = clientHeaders();
      const email = `target-${nextClient}@example.test`;
      const before = await rejectionsOf('auth');
      for (let attempt = 1; attempt <= 10; attempt++) {
        expect((await failedLogin(headers, email)).status).toBe(401);
      }
      const refused = await failedLogin(headers, email);
      expect(refused.status).toBe(429);
      expect(refused.body).toMatchObject({ statusCode: 429, error: 'Too Many Requests' });
      const retryAfter = Number(refused.headers.get('retry-after'));
      expect(retryAfter).toBeGreaterThanOrEqual(1);
      expect(retryAfter).toBeLessThanOrEqual(5);
      expect(await rejectionsOf('auth')).toBe(before + 1);

      await sleep(retryAfter * 1_000 + 100);
      expect((await failedLogin(headers, email)).status).toBe(401);
    });

    it('slows a client that rotates target emails (address counter)', async () => {
      const headers = clientHeaders();
      const statuses: number[] = [];
      for (let attempt = 0; attempt < 11; attempt++) {
        statuses.push(
          (await failedLogin(headers, `rotating-${nextClient}-${attempt}@x.test`)).status,
        );
      }
      expect(statuses).toEqual([...Array(10).fill(401), 429]);
    });
  });

  describe('client key: the user when authenticated, else the address', () => {
    it('gives each authenticated user a budget of their own, even from one address', async () => {
      const headers = clientHeaders();
      const annStatuses: number[] = [];
      for (let i = 0; i < 21; i++) {
        annStatuses.push((await t.api.get('/api/config', { headers, token: ann.token })).status);
      }
      expect(annStatuses).toEqual([...Array(20).fill(200), 429]);
      expect((await t.api.get('/api/config', { headers, token: bob.token })).status).toBe(200);
      expect((await t.api.get('/api/config', { headers })).status).toBe(200);
    });

    it('keys an invalid token by address: a forged token is not a fresh budget', async () => {
      const headers = clientHeaders();
      for (let i = 0; i < 20; i++) {
        expect((await t.api.get('/api/config', { headers })).status).toBe(200);
      }
      const forged = await t.api.get('/api/config', { headers, token: 'not.a.token' });
      expect(forged.status).toBe(429);
      const expired = await t.api.get('/api/config', { headers, token: `${ann.token}x` });
      expect(expired.status).toBe(429);
    });
  });

  it('GET /api/users/:id/dashboard is in tier expensive (3 per minute), its 429 counted in /metrics', async () => {
    const headers = clientHeaders();
    const before = await rejectionsOf('expensive');
    const statuses: number[] = [];
    for (let i = 0; i < 4; i++) {
      statuses.push((await t.api.get(`/api/users/${ann.id}/dashboard`, { headers })).status);
    }
    expect(statuses).toEqual([200, 200, 200, 429]);
    expect(await rejectionsOf('expensive')).toBe(before + 1);
    const scrape = await t.api.get('/metrics');
    const sample = /^rate_limit_rejections_total\{tier="expensive"\} (\d+)$/m.exec(scrape.text);
    expect(Number(sample?.[1])).toBe(before + 1);
    // the expensive budget is its own: other routes still answer
    expect((await t.api.get(`/api/users/${ann.id}`, { headers })).status).toBe(200);
  });

  it.each(['/docs', '/docs-json', '/health/live', '/health/ready', '/metrics'])(
    '%s is never rate-limited and has no limit headers',
    async (path) => {
      const headers = clientHeaders();
      for (let i = 0; i < 25; i++) {
        const res = await t.api.get(path, { headers });
        expect(res.status).not.toBe(429);
        expect(res.headers.get('ratelimit-limit')).toBeNull();
      }
    },
  );
});

describe('rate limits under concurrency (e2e, in-process storage)', () => {
  let t: TestApp;

  beforeAll(async () => {
    t = await startTestApp({ RATE_LIMIT_DEFAULT: '100/1m', REDIS_URL: undefined });
  });
  afterAll(() => t.close());

  it('admits exactly 100 of 500 concurrent requests against a limit of 100', async () => {
    const responses = await Promise.all(
      Array.from({ length: 500 }, () => t.api.get('/api/config')),
    );
    const ok = responses.filter((res) => res.status === 200).length;
    const refused = responses.filter((res) => res.status === 429).length;
    expect({ ok, refused }).toEqual({ ok: 100, refused: 400 });
  });
});

describe('rate limiting switched off (e2e)', () => {
  let t: TestApp;

  beforeAll(async () => {
    t = await startTestApp({ RATE_LIMIT_ENABLED: 'false', RATE_LIMIT_DEFAULT: '2/1m' });
  });
  afterAll(() => t.close());

  it('limits no route and sends no limit headers, whatever the tiers say', async () => {
    const responses = [];
    for (let i = 0; i < 4; i++) responses.push(await t.api.get('/api/config'));
    expect(responses.map((res) => res.status)).toEqual([200, 200, 200, 200]);
    expect(responses.every((res) => res.headers.get('ratelimit-limit') === null)).toBe(true);
  });
});
