import { randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { DataSource } from 'typeorm';
import { PasswordHasher } from '../../src/auth/password-hasher';
import { sleep } from '../utils/net';
import { startTestApp, TestApp } from '../utils/test-app';

const OWASP_PREFIX = 'scrypt$131072$8$1$';

async function storedHash(t: TestApp, email: string): Promise<string> {
  const [row] = (await t.app
    .get(DataSource)
    .query(`SELECT password_hash AS hash FROM users WHERE email = $1`, [email])) as {
    hash: string;
  }[];
  return row.hash;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = sorted.length >> 1;
  return sorted.length % 2 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
}

describe('password hashing at the default cost, scrypt N=2^17, r=8, p=1 (e2e)', () => {
  let t: TestApp;

  beforeAll(async () => {
    t = await startTestApp({ PASSWORD_SCRYPT_COST_LOG2: undefined });
  });
  afterAll(() => t.close());

  it('stores new passwords at N=2^17 and logs them in', async () => {
    const user = await t.api.createUser();
    expect(await storedHash(t, user.email)).toMatch(/^scrypt\$131072\$8\$1\$[\w-]{22}\$[\w-]{43}$/);
  });

  it('rehashes a weaker stored hash at the next successful login, and the password still works', async () => {
    const email = `legacy-${randomUUID()}@example.test`;
    const password = 'legacy-password';
    const weak = await new PasswordHasher(14).hash(password);
    expect(weak).toMatch(/^scrypt\$16384\$8\$1\$/);
    await t.app
      .get(DataSource)
      .query(`INSERT INTO users (email, password_hash, name) VALUES ($1, $2, 'Legacy')`, [
        email,
        weak,
      ]);

    expect(
      (await t.api.post('/api/auth/login', { email, password: 'wrong-password' })).status,
    ).toBe(401);
    expect(await storedHash(t, email)).toBe(weak);
    expect((await t.api.post('/api/auth/login', { email, password })).status).toBe(200);
    // after the response, in the pool's normal lane
    let stored = weak;
    for (let waited = 0; waited < 10_000 && stored === weak; waited += 100) {
      await sleep(100);
      stored = await storedHash(t, email);
    }
    expect(stored.startsWith(OWASP_PREFIX)).toBe(true);
    expect((await t.api.post('/api/auth/login', { email, password })).status).toBe(200);
    expect((await t.api.post('/api/auth/login', { email, password: 'nope-nope' })).status).toBe(
      401,
    );
  });
});

describe('login timing does not tell unknown emails from wrong passwords (e2e)', () => {
  let t: TestApp;
  // N=2^14 (≈ 35 ms a hash): 400 logins in seconds, and the hash still dominates their time
  beforeAll(async () => {
    t = await startTestApp({ PASSWORD_SCRYPT_COST_LOG2: '14' });
  });
  afterAll(() => t.close());

  it('200 tries each, interleaved: the medians differ by less than 10 %', async () => {
    const user = await t.api.createUser();
    const timed = async (email: string) => {
      const started = performance.now();
      const res = await t.api.post('/api/auth/login', { email, password: 'wrong-password' });
      expect(res.status).toBe(401);
      return performance.now() - started;
    };
    const wrongPassword: number[] = [];
    const unknownEmail: number[] = [];
    for (let i = 0; i < 200; i++) {
      wrongPassword.push(await timed(user.email));
      unknownEmail.push(await timed(`unknown-${randomUUID()}@example.test`));
    }
    const [known, unknown] = [median(wrongPassword), median(unknownEmail)];
    expect(Math.abs(known - unknown) / Math.min(known, unknown)).toBeLessThan(0.1);
  }, 120_000);
});
