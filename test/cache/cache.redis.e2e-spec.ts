import { createClient } from '@redis/client';
import { CountingPgProxy } from '../../bench/pg-counter';
import { PUBLIC_USER_COLUMNS } from '../../src/users/users.repository';
import { AppProcess, startAppProcess } from '../utils/app-process';
import { CACHE_TEST_ENV } from './cache-test-env';
import { readDashboardRacingRename } from './held-follows';

/** What `GET /api/users/:id` runs on a miss (`UsersRepository.findPublic`). */
const FIND_PUBLIC_USER_SQL = `SELECT ${PUBLIC_USER_COLUMNS} FROM users u WHERE u.id = $1`;
/** That statement and no other (`findPrivate` differs only by a column). */
const FIND_PUBLIC_USER = new RegExp(
  `^${FIND_PUBLIC_USER_SQL.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}$`,
);

/**
 * Two app processes on the shared Redis: what one writes, the other serves at once, although
 * it held the old value in its in-process L1 (the invalidation bus dropped it there).
 */
describe('cache across processes (e2e, shared Redis)', () => {
  let a: AppProcess;
  let b: AppProcess;
  /** Both processes reach PostgreSQL through it: it counts their user loads on the wire. */
  let userLoads: CountingPgProxy;

  beforeAll(async () => {
    userLoads = await CountingPgProxy.start(process.env.DATABASE_URL!, FIND_PUBLIC_USER);
    // waiters in the other process give up after CACHE_LOCK_WAIT_MS and load themselves: on a
    // busy CI machine a holder's load can outlast the default second
    const env = {
      ...CACHE_TEST_ENV,
      DATABASE_URL: userLoads.url,
      CACHE_LOCK_TTL_MS: '10000',
      CACHE_LOCK_WAIT_MS: '8000',
    };
    // Generous: each process compiles the app with ts-node, slow on a busy machine.
    const start = () => startAppProcess(env, { timeoutMs: 100_000 });
    [a, b] = await Promise.all([start(), start()]);
  }, 120_000);
  afterAll(async () => {
    await Promise.all([a?.stop(), b?.stop()]);
    await userLoads?.close();
  });

  it('PATCH /api/users/:id through A: B serves the new profile at once, on every route', async () => {
    const user = await a.api.createUser('Before');
    const routes = [`/api/users/${user.id}`, '/api/users/me', `/api/users?ids=${user.id}`];
    const nameOn = async (path: string) => {
      const { body } = await b.api.get(path, { token: user.token });
      return (Array.isArray(body) ? body[0] : body).name;
    };
    for (const path of routes) {
      expect(await nameOn(path)).toBe('Before');
      expect(await nameOn(path)).toBe('Before');
    }
    expect((await b.api.get(`/api/users/${user.id}`)).headers.get('x-cache')).toBe('HIT');

    const patch = await a.api.patch(
      `/api/users/${user.id}`,
      { name: 'After' },
      { token: user.token },
    );
    expect(patch.status).toBe(200);
    for (const path of routes) expect(await nameOn(path)).toBe('After');
    // Written through: B serves it from the cache, not from the database.
    expect((await b.api.get(`/api/users/${user.id}`)).headers.get('x-cache')).toBe('HIT');
  });

  it('PATCH and DELETE /api/posts/:id through A: B serves the new post, then 404', async () => {
    const author = await a.api.createUser();
    const { body: post } = await a.api.post(
      '/api/posts',
      { title: 'v1', body: 'b' },
      { token: author.token },
    );
    const path = `/api/posts/${post.id}`;
    const before = await b.api.get(path);
    expect((await b.api.get(path)).headers.get('x-cache')).toBe('HIT');

    await a.api.patch(path, { title: 'v2' }, { token: author.token });
    const after = await b.api.get(path);
    expect(after.body.title).toBe('v2');
    expect(after.headers.get('etag')).not.toBe(before.headers.get('etag'));

    expect((await a.api.delete(path, { token: author.token })).status).toBe(204);
    expect((await b.api.get(path)).status).toBe(404);
  });

  it('GET /api/users/:id/dashboard on B follows posts, follows and profiles written through A', async () => {
    const owner = await a.api.createUser('Owner');
    const fan = await a.api.createUser('Fan');
    const dashboard = async () => (await b.api.get(`/api/users/${owner.id}/dashboard`)).body;
    await dashboard();
    expect((await b.api.get(`/api/users/${owner.id}/dashboard`)).headers.get('x-cache')).toBe(
      'HIT',
    );

    await a.api.post('/api/posts', { title: 'news', body: 'b' }, { token: owner.token });
    expect((await dashboard()).recentPosts).toHaveLength(1);
    await a.api.put(`/api/users/${owner.id}/follow`, { token: fan.token });
    expect((await dashboard()).followers.map((u: { name: string }) => u.name)).toEqual(['Fan']);
    await a.api.patch(`/api/users/${fan.id}`, { name: 'Fan 2' }, { token: fan.token });
    expect((await dashboard()).followers.map((u: { name: string }) => u.name)).toEqual(['Fan 2']);
    await a.api.delete(`/api/users/${owner.id}/follow`, { token: fan.token });
    expect((await dashboard()).followerCount).toBe(0);
  });

  it('a dashboard fill on B that read the profile before a PATCH through A does not store it', async () => {
    const owner = await a.api.createUser('Before');
    const path = `/api/users/${owner.id}/dashboard`;
    // B's fill loaded the profile before the PATCH, and still answers its own request with it.
    const read = await readDashboardRacingRename(b.api, a.api, owner);
    expect(read.headers.get('x-cache')).toBe('MISS');
    expect(read.body.user.name).toBe('Before');
    for (const api of [b.api, a.api, b.api]) {
      expect((await api.get(path)).body.user.name).toBe('After');
    }
  });

  it('loads a cold key once for 200 concurrent GETs split over both processes', async () => {
    const user = await a.api.createUser('Stampede');
    const loadsBefore = userLoads.count;
    const responses = await Promise.all(
      Array.from({ length: 200 }, (_, i) => (i % 2 ? a : b).api.get(`/api/users/${user.id}`)),
    );
    expect(responses.every((res) => res.status === 200 && res.body.id === user.id)).toBe(true);
    expect(userLoads.count - loadsBefore).toBe(1);
    expect(responses.filter((res) => res.headers.get('x-cache') === 'MISS')).toHaveLength(1);
    // The counter sees loads: one more read of another cold key is one more.
    await b.api.get(`/api/users/${(await a.api.createUser()).id}`);
    expect(userLoads.count - loadsBefore).toBe(2);
  });

  it('keeps its entries in Redis under loadstar:v2:', async () => {
    const user = await a.api.createUser();
    await a.api.get(`/api/users/${user.id}`);
    const redis = createClient({ url: process.env.REDIS_URL });
    await redis.connect();
    try {
      const stored = JSON.parse((await redis.get(`loadstar:v2:{user:${user.id}}`))!);
      expect(JSON.parse(stored.value.body)).toMatchObject({ id: user.id });
      expect(stored.value.body).not.toContain('@');
      expect(await redis.pTTL(`loadstar:v2:{user:${user.id}}`)).toBeGreaterThan(0);
    } finally {
      redis.destroy();
    }
  });
});
