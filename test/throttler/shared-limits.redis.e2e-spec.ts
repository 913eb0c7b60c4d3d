import { AppProcess, startAppProcess } from '../utils/app-process';
import { privateRateLimitKeyPrefix } from '../utils/rate-limits';

describe('rate limits shared through Redis by two processes (e2e)', () => {
  let apps: AppProcess[] = [];

  beforeAll(async () => {
    // one prefix for both processes (they must share counters), unused by anything else
    const env = {
      RATE_LIMIT_KEY_PREFIX: privateRateLimitKeyPrefix(),
      RATE_LIMIT_DEFAULT: '100/1m',
      RATE_LIMIT_AUTH: '10/1m',
      RATE_LIMIT_AUTH_ACCOUNT_ADDRESS: '10/1m',
      TRUST_PROXY: '127.0.0.1',
    };
    const start = () => startAppProcess(env, { timeoutMs: 100_000 });
    apps = await Promise.all([start(), start()]);
  }, 120_000);
  afterAll(() => Promise.all(apps.map((app) => app.stop())));

  it('holds the failed-login limits across both: alternated failures count as one client', async () => {
    const headers = { 'x-forwarded-for': '192.0.2.50' };
    const body = { email: 'shared-target@example.test', password: 'wrong-password' };
    const statuses: number[] = [];
    for (let attempt = 0; attempt < 12; attempt++) {
      const app = apps[attempt % 2];
      statuses.push((await app.api.post('/api/auth/login', body, { headers })).status);
    }
    expect(statuses).toEqual([...Array(10).fill(401), 429, 429]);
  });

  it('admits exactly 100 of 500 concurrent requests spread over both processes', async () => {
    const headers = { 'x-forwarded-for': '192.0.2.51' };
    const responses = await Promise.all(
      Array.from({ length: 500 }, (_, i) => apps[i % 2].api.get('/api/config', { headers })),
    );
    const ok = responses.filter((res) => res.status === 200).length;
    const refused = responses.filter((res) => res.status === 429).length;
    expect({ ok, refused }).toEqual({ ok: 100, refused: 400 });
  });
});
