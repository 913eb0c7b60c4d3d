import { randomUUID } from 'node:crypto';
import { ApiResponse } from '../utils/api-client';
import { sleep } from '../utils/net';
import { CONTRACT_RATE_LIMITS } from '../utils/rate-limits';
import { startTestApp, TestApp } from '../utils/test-app';

const FLOOD = 100;
const from = (address: string) => ({ headers: { 'x-forwarded-for': address } });

/** The set-up: one hashing thread, a queue of 64, scrypt slow enough to pile up. */
const ONE_THREAD_POOL = {
  WORKER_POOL_SIZE: '1',
  WORKER_POOL_MAX_QUEUE: '64',
  PASSWORD_SCRYPT_COST_LOG2: '14',
  TRUST_PROXY: '127.0.0.1',
};

async function queued(t: TestApp): Promise<number> {
  const scrape = (await t.api.get('/metrics')).text;
  return Number(/^worker_pool_queue_size (\d+)/m.exec(scrape)?.[1] ?? 0);
}

/**
 * Sends the flood of registrations from one address, and once `backlog` of them wait for the
 * pool, an honest user's login from another address. Resolves with every answer, and how many
 * registrations were still unanswered when the login's answer came.
 */
async function floodThenLogin(t: TestApp, backlog: number) {
  const owner = { email: `owner-${randomUUID()}@example.test`, password: 'correct-password' };
  expect(
    (await t.api.post('/api/auth/register', { ...owner, name: 'Owner' }, from('192.0.2.200')))
      .status,
  ).toBe(201);
  let answered = 0;
  const flood = Promise.all(
    Array.from({ length: FLOOD }, (_, i) =>
      t.api
        .post(
          '/api/auth/register',
          { email: `flood-${randomUUID()}-${i}@example.test`, password: 'password123', name: 'F' },
          from('192.0.2.201'),
        )
        .finally(() => (answered += 1)),
    ),
  );
  for (let waited = 0; waited < 10_000 && (await queued(t)) < backlog; waited += 20)
    await sleep(20);
  const login = await t.api.post('/api/auth/login', owner, from('192.0.2.202'));
  const unansweredAtLogin = FLOOD - answered;
  const registrations: ApiResponse[] = await flood;
  const count = (status: number) => registrations.filter((res) => res.status === status).length;
  return { login, unansweredAtLogin, count };
}

describe('a registration flood does not starve logins (e2e)', () => {
  describe('with the built-in register tier (10 per hour per address)', () => {
    let t: TestApp;
    beforeAll(async () => {
      t = await startTestApp({ ...CONTRACT_RATE_LIMITS, ...ONE_THREAD_POOL });
    });
    afterAll(() => t.close());

    it('refuses all but 10 of 100 concurrent registrations from one address; a concurrent login → 200', async () => {
      const { login, count } = await floodThenLogin(t, 5);
      expect(login.status).toBe(200);
      expect({ created: count(201), limited: count(429), busy: count(503) }).toEqual({
        created: 10,
        limited: 90,
        busy: 0,
      });
    });
  });

  describe('with registrations let through (as from many addresses): logins overtake them', () => {
    let t: TestApp;
    beforeAll(async () => {
      t = await startTestApp({
        ...CONTRACT_RATE_LIMITS,
        RATE_LIMIT_REGISTER: '1000/1m',
        ...ONE_THREAD_POOL,
      });
    });
    afterAll(() => t.close());

    it('the pool refuses what it cannot queue, and the login does not wait behind the backlog', async () => {
      const { login, unansweredAtLogin, count } = await floodThenLogin(t, 30);
      expect(login.status).toBe(200);
      // one thread + 64 waiting registrations (and those done while the flood arrived) are
      // admitted, the rest refused at once
      expect(count(201)).toBeGreaterThanOrEqual(65);
      expect(count(201) + count(503)).toBe(FLOOD);
      // the login was answered while most of the backlog still waited
      expect(unansweredAtLogin).toBeGreaterThanOrEqual(20);
    });
  });
});
