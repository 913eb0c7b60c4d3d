import { randomUUID } from 'node:crypto';
import { ApiResponse, errorBody } from '../utils/api-client';
import { sleep } from '../utils/net';
import { PrivateRedis } from '../utils/private-redis';
import { CONTRACT_RATE_LIMITS } from '../utils/rate-limits';
import { startTestApp, TestApp } from '../utils/test-app';

/** Each call a client address no other test uses (the apps trust 127.0.0.1 as their proxy). */
let lastAddress = 0;
const newAddress = () => {
  lastAddress += 1;
  return `198.51.${Math.floor(lastAddress / 250)}.${(lastAddress % 250) + 1}`;
};
const from = (address: string) => ({ headers: { 'x-forwarded-for': address } });
const unknownEmail = () => `nobody-${randomUUID()}@example.test`;

interface Account {
  email: string;
  password: string;
}

async function register(t: TestApp): Promise<Account> {
  const account = { email: `owner-${randomUUID()}@example.test`, password: 'correct-password' };
  // a fresh address each, so that registering is never what these tests run into
  const res = await t.api.post(
    '/api/auth/register',
    { ...account, name: 'Owner' },
    from(newAddress()),
  );
  if (res.status !== 201) throw new Error(`register failed: ${res.text}`);
  return account;
}

const login = (t: TestApp, address: string, email: string, password: string) =>
  t.api.post('/api/auth/login', { email, password }, from(address));

async function attempts(
  t: TestApp,
  count: number,
  attempt: (index: number) => Promise<ApiResponse>,
): Promise<number[]> {
  const statuses: number[] = [];
  for (let i = 0; i < count; i++) statuses.push((await attempt(i)).status);
  return statuses;
}

function expectRefused(res: ApiResponse, maxWaitS: number): number {
  expect(res.status).toBe(429);
  expect(res.body).toEqual(errorBody(429, expect.stringMatching(/^Too many failed attempts/)));
  const retryAfter = Number(res.headers.get('retry-after'));
  expect(retryAfter).toBeGreaterThanOrEqual(1);
  expect(retryAfter).toBeLessThanOrEqual(maxWaitS);
  return retryAfter;
}

describe.each([
  ['in-process counters', false],
  ['counters in Redis (a redis-server of its own)', true],
])('login throttling counts failures, per the OWASP guidance (e2e, %s)', (_, withRedis) => {
  let redis: PrivateRedis | undefined;
  /** the built-in limits: 10 failures per address, 5 per (address, account), both per 15 min */
  let t: TestApp;
  /** a low slowdown threshold (3 failures per account) and delays of at most 2 s */
  let slow: TestApp;

  beforeAll(async () => {
    redis = withRedis ? await PrivateRedis.start() : undefined;
    const env = { ...CONTRACT_RATE_LIMITS, REDIS_URL: redis?.url, TRUST_PROXY: '127.0.0.1' };
    t = await startTestApp(env);
    slow = await startTestApp({
      ...env,
      RATE_LIMIT_AUTH_ACCOUNT: '3/1h',
      RATE_LIMIT_AUTH_ACCOUNT_MAX_DELAY_S: '2',
    });
  });
  afterAll(async () => {
    await Promise.all([t?.close(), slow?.close()]);
    await redis?.kill();
  });

  it('does not lock the owner out: wrong guesses from one address, her login from another → 200', async () => {
    const victim = await register(t);
    const attacker = newAddress();
    const guesses = await attempts(t, 12, () => login(t, attacker, victim.email, 'guess'));
    expect(guesses).toEqual([...Array(5).fill(401), ...Array(7).fill(429)]);
    const own = await login(t, newAddress(), victim.email, victim.password);
    expect(own.status).toBe(200);
    expect(own.body.accessToken).toEqual(expect.any(String));
  });

  it('lets 15 different users behind one address all log in, twice each', async () => {
    const office = newAddress();
    const staff = await Promise.all(Array.from({ length: 15 }, () => register(t)));
    for (const round of [1, 2]) {
      const statuses = await attempts(t, 15, (i) =>
        login(t, office, staff[i].email, staff[i].password),
      );
      expect({ round, statuses }).toEqual({ round, statuses: Array(15).fill(200) });
    }
  });

  it('refuses one address its 11th failure over many accounts (credential stuffing)', async () => {
    const stuffer = newAddress();
    const statuses = await attempts(t, 11, () => login(t, stuffer, unknownEmail(), 'password1'));
    expect(statuses).toEqual([...Array(10).fill(401), 429]);
    expectRefused(await login(t, stuffer, unknownEmail(), 'password1'), 900);
  });

  it('a success resets the (address, account) failures', async () => {
    const owner = await register(t);
    const address = newAddress();
    expect(await attempts(t, 2, () => login(t, address, owner.email, 'typo'))).toEqual([401, 401]);
    expect((await login(t, address, owner.email, owner.password)).status).toBe(200);
    // the five failures of a fresh counter fit again (without the reset: three)
    const after = await attempts(t, 6, () => login(t, address, owner.email, 'typo'));
    expect(after).toEqual([...Array(5).fill(401), 429]);
  });

  it('stays exact under concurrency: 100 concurrent guesses → 5 checked, 95 refused, 95 taken back', async () => {
    const owner = await register(t);
    const attacker = newAddress();
    const burst = await Promise.all(
      Array.from({ length: 100 }, () => login(t, attacker, owner.email, 'guess')),
    );
    const statuses = burst.map((res) => res.status).sort();
    expect(statuses).toEqual([...Array(5).fill(401), ...Array(95).fill(429)]);
    // the refused ones were not counted as failures of the address: 5 of its 10 are left
    const more = await attempts(t, 6, () => login(t, attacker, unknownEmail(), 'guess'));
    expect(more).toEqual([...Array(5).fill(401), 429]);
  });

  it('slows an account guessed from many addresses, without locking it: bounded delays, the owner gets in', async () => {
    const owner = await register(slow);
    const guess = () => login(slow, newAddress(), owner.email, 'guess');
    // 3 failures before the slowdown, then one attempt per delay (1 s, then 2 s, capped at 2 s)
    expect(await attempts(slow, 4, guess)).toEqual(Array(4).fill(401));
    await sleep(expectRefused(await guess(), 1) * 1_000 + 100);
    expect((await guess()).status).toBe(401);
    const second = expectRefused(await guess(), 2);
    expect(second).toBe(2);
    await sleep(second * 1_000 + 100);
    expect((await guess()).status).toBe(401);
    // capped: the next delay would be 4 s without the bound
    const capped = expectRefused(await guess(), 2);
    // the owner's attempt in the delay is asked to wait, then gets in
    const ownEarly = await login(slow, newAddress(), owner.email, owner.password);
    expectRefused(ownEarly, capped);
    await sleep(Number(ownEarly.headers.get('retry-after')) * 1_000 + 100);
    expect((await login(slow, newAddress(), owner.email, owner.password)).status).toBe(200);
  });

  it('answers an unknown email and a wrong password alike, under the same counters', async () => {
    const owner = await register(t);
    const [wrong, unknown] = [newAddress(), newAddress()];
    const a = await attempts(t, 6, () => login(t, wrong, owner.email, 'guess'));
    const emailOfNobody = unknownEmail();
    const b = await attempts(t, 6, () => login(t, unknown, emailOfNobody, 'guess'));
    expect(a).toEqual(b);
    const [oneWrong, oneUnknown] = await Promise.all([
      login(t, newAddress(), owner.email, 'guess'),
      login(t, newAddress(), unknownEmail(), 'guess'),
    ]);
    expect(oneWrong.body).toEqual(errorBody(401, 'wrong email or password'));
    expect(oneUnknown.body).toEqual(errorBody(401, 'wrong email or password'));
  });

  it('does not count a request that checked no credentials (400)', async () => {
    const address = newAddress();
    const invalid = await attempts(t, 12, () =>
      t.api.post('/api/auth/login', { email: unknownEmail(), password: '' }, from(address)),
    );
    expect(invalid).toEqual(Array(12).fill(400));
    expect((await login(t, address, unknownEmail(), 'guess')).status).toBe(401);
  });
});
