import { startTestApp, TestApp } from '../utils/test-app';

let lastAddress = 0;
/** A client address no other test uses (the app trusts 127.0.0.1 as its proxy). */
const newAddress = () => `203.0.113.${++lastAddress}`;

describe('tier expensive counts by address as well as by user (e2e)', () => {
  let t: TestApp;

  beforeAll(async () => {
    t = await startTestApp({ RATE_LIMIT_EXPENSIVE: '3/1m', TRUST_PROXY: '127.0.0.1' });
  });
  afterAll(() => t.close());

  const statuses = async (path: string, address: string, tokens: (string | undefined)[]) => {
    const seen: number[] = [];
    for (const token of tokens) {
      const res = await t.api.get(path, { token, headers: { 'x-forwarded-for': address } });
      seen.push(res.status);
    }
    return seen;
  };

  // a tier is one budget per key for all its routes: fresh users for each test
  it.each([
    ['GET /api/posts/export', (id: number) => `/api/posts/export?format=ndjson&authorId=${id}`],
    ['GET /api/users/:id/dashboard', (id: number) => `/api/users/${id}/dashboard`],
  ])('%s: switching tokens from one address is no fresh budget', async (_, pathOf) => {
    const [ann, bob] = [await t.api.createUser('Ann'), await t.api.createUser('Bob')];
    const path = () => pathOf(ann.id);
    const address = newAddress();
    const anonymous = undefined;
    expect(await statuses(path(), address, [anonymous, anonymous, anonymous, anonymous])).toEqual([
      200, 200, 200, 429,
    ]);
    expect(await statuses(path(), address, [ann.token, bob.token, ann.token])).toEqual([
      429, 429, 429,
    ]);
    // each user still has a budget of their own elsewhere
    expect(await statuses(path(), newAddress(), [ann.token, bob.token])).toEqual([200, 200]);
  });

  it('one user spread over several addresses is still counted as one', async () => {
    const cid = await t.api.createUser('Cid');
    const path = `/api/users/${cid.id}/dashboard`;
    const seen: number[] = [];
    for (let i = 0; i < 4; i++) seen.push(...(await statuses(path, newAddress(), [cid.token])));
    expect(seen).toEqual([200, 200, 200, 429]);
  });
});
