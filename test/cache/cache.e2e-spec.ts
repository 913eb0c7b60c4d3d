import { CacheService } from '@app/cache';
import { UsersRepository } from '../../src/users/users.repository';
import { TestUser } from '../utils/api-client';
import { sleep } from '../utils/net';
import { startTestApp, TestApp } from '../utils/test-app';
import { cacheOperations } from './cache-operations';
import { CACHE_TEST_ENV } from './cache-test-env';
import { readDashboardRacingRename } from './held-follows';

describe('cache (e2e)', () => {
  let t: TestApp;
  let users: UsersRepository;

  beforeAll(async () => {
    t = await startTestApp(CACHE_TEST_ENV);
    users = t.app.get(UsersRepository);
  });
  afterAll(() => t.close());
  afterEach(() => jest.restoreAllMocks());

  describe('GET /api/users/:id (cache-aside, HTTP caching)', () => {
    it('misses, then hits with the same body and ETag, without reading the database', async () => {
      const user = await t.api.createUser('Cached');
      const findPublic = jest.spyOn(users, 'findPublic');
      const first = await t.api.get(`/api/users/${user.id}`);
      const second = await t.api.get(`/api/users/${user.id}`);
      expect(first.status).toBe(200);
      expect(first.headers.get('x-cache')).toBe('MISS');
      expect(second.headers.get('x-cache')).toBe('HIT');
      expect(second.text).toBe(first.text);
      expect(second.headers.get('etag')).toBe(first.headers.get('etag'));
      expect(second.headers.get('etag')).toMatch(/^W\/"[\w-]+"$/);
      expect(second.headers.get('cache-control')).toBe('public, max-age=60');
      expect(second.headers.get('content-type')).toBe('application/json; charset=utf-8');
      expect(second.body).toEqual({
        id: user.id,
        name: 'Cached',
        bio: '',
        createdAt: expect.any(String),
        updatedAt: expect.any(String),
      });
      expect(findPublic).toHaveBeenCalledTimes(1);
    });

    it('answers a matching If-None-Match with 304 and no body', async () => {
      const user = await t.api.createUser();
      const { headers } = await t.api.get(`/api/users/${user.id}`);
      const etag = headers.get('etag')!;
      const notModified = await t.api.get(`/api/users/${user.id}`, {
        headers: { 'if-none-match': etag },
      });
      expect(notModified.status).toBe(304);
      expect(notModified.text).toBe('');
      expect(notModified.headers.get('etag')).toBe(etag);
      expect(notModified.headers.get('cache-control')).toBe('public, max-age=60');
      const changed = await t.api.get(`/api/users/${user.id}`, {
        headers: { 'if-none-match': 'W/"something-else"' },
      });
      expect(changed.status).toBe(200);
      expect(changed.body.id).toBe(user.id);
    });

    it('caches no error: an unknown id is 404 every time, a bad id 400', async () => {
      const findPublic = jest.spyOn(users, 'findPublic');
      for (let i = 0; i < 2; i++) {
        const res = await t.api.get('/api/users/2000000001');
        expect(res.status).toBe(404);
        expect(res.headers.get('etag')).toBeNull();
      }
      expect(findPublic).toHaveBeenCalledTimes(2);
      expect((await t.api.get('/api/users/1x')).status).toBe(400);
    });

    it('loads a cold key once for 200 concurrent requests', async () => {
      const user = await t.api.createUser('Stampede');
      const findPublic = jest.spyOn(users, 'findPublic');
      const responses = await Promise.all(
        Array.from({ length: 200 }, () => t.api.get(`/api/users/${user.id}`)),
      );
      expect(responses.every((res) => res.status === 200 && res.body.id === user.id)).toBe(true);
      expect(findPublic).toHaveBeenCalledTimes(1);
      expect(responses.filter((res) => res.headers.get('x-cache') === 'MISS')).toHaveLength(1);
    });

    it('counts hits and misses in cache_operations_total on /metrics', async () => {
      const user = await t.api.createUser();
      const hits = await cacheOperations(t.api, 'hit', 'user');
      const misses = await cacheOperations(t.api, 'miss', 'user');
      await t.api.get(`/api/users/${user.id}`);
      await t.api.get(`/api/users/${user.id}`);
      await t.api.get(`/api/users/${user.id}`);
      expect((await cacheOperations(t.api, 'miss', 'user')) - misses).toBe(1);
      expect((await cacheOperations(t.api, 'hit', 'user')) - hits).toBe(2);
    });
  });

  describe('PATCH /api/users/:id (write-through)', () => {
    it('makes the next read a hit with the new value, for the public and the own view', async () => {
      const user = await t.api.createUser('Before');
      const before = await t.api.get(`/api/users/${user.id}`);
      await t.api.get('/api/users/me', { token: user.token });
      const patch = await t.api.patch(
        `/api/users/${user.id}`,
        { name: 'After', bio: 'new bio' },
        { token: user.token },
      );
      expect(patch.status).toBe(200);

      const findPublic = jest.spyOn(users, 'findPublic');
      const findPrivate = jest.spyOn(users, 'findPrivate');
      const after = await t.api.get(`/api/users/${user.id}`);
      expect(after.headers.get('x-cache')).toBe('HIT');
      expect(after.body).toMatchObject({ name: 'After', bio: 'new bio' });
      expect(after.body).not.toHaveProperty('email');
      expect(after.headers.get('etag')).not.toBe(before.headers.get('etag'));
      const me = await t.api.get('/api/users/me', { token: user.token });
      expect(me.headers.get('x-cache')).toBe('HIT');
      expect(me.body).toMatchObject({ name: 'After', email: user.email.toLowerCase() });
      expect(findPublic).not.toHaveBeenCalled();
      expect(findPrivate).not.toHaveBeenCalled();

      // The written entry is exactly what a fill would have cached.
      await t.app.get(CacheService).evict([`user:${user.id}`]);
      const reloaded = await t.api.get(`/api/users/${user.id}`);
      expect(reloaded.headers.get('x-cache')).toBe('MISS');
      expect(reloaded.text).toBe(after.text);
      expect(reloaded.headers.get('etag')).toBe(after.headers.get('etag'));
    });

    it('writes nothing when the update is refused', async () => {
      const owner = await t.api.createUser('Owner');
      const other = await t.api.createUser();
      await t.api.get(`/api/users/${owner.id}`);
      const refused = await t.api.patch(
        `/api/users/${owner.id}`,
        { name: 'Hijacked' },
        { token: other.token },
      );
      expect(refused.status).toBe(403);
      expect((await t.api.get(`/api/users/${owner.id}`)).body.name).toBe('Owner');
    });
  });

  describe('GET /api/users/me (private)', () => {
    it('is never served from another user’s entry', async () => {
      const ann = await t.api.createUser('Ann');
      const bob = await t.api.createUser('Bob');
      const annFirst = await t.api.get('/api/users/me', { token: ann.token });
      const annAgain = await t.api.get('/api/users/me', { token: ann.token });
      const bobFirst = await t.api.get('/api/users/me', { token: bob.token });
      const bobAgain = await t.api.get('/api/users/me', { token: bob.token });
      expect(annAgain.headers.get('x-cache')).toBe('HIT');
      expect(bobFirst.headers.get('x-cache')).toBe('MISS');
      expect(bobAgain.headers.get('x-cache')).toBe('HIT');
      for (const [res, user] of [
        [annFirst, ann],
        [annAgain, ann],
        [bobFirst, bob],
        [bobAgain, bob],
      ] as Array<[Awaited<ReturnType<TestApp['api']['get']>>, TestUser]>) {
        expect(res.body).toMatchObject({ id: user.id, email: user.email.toLowerCase() });
        expect(res.headers.get('cache-control')).toBe('private, no-cache');
      }
      expect(bobFirst.headers.get('etag')).not.toBe(annFirst.headers.get('etag'));
    });

    it('answers a stolen ETag of another user with their own body, not a 304', async () => {
      const ann = await t.api.createUser('Ann');
      const bob = await t.api.createUser('Bob');
      const annEtag = (await t.api.get('/api/users/me', { token: ann.token })).headers.get('etag')!;
      const res = await t.api.get('/api/users/me', {
        token: bob.token,
        headers: { 'if-none-match': annEtag },
      });
      expect(res.status).toBe(200);
      expect(res.body.id).toBe(bob.id);
    });
  });

  describe('GET /api/users?ids= (multi-get)', () => {
    it('reads only the misses from the database, in one query, and keeps the order', async () => {
      const [a, b, c] = [
        await t.api.createUser('A'),
        await t.api.createUser('B'),
        await t.api.createUser('C'),
      ];
      await t.api.get(`/api/users/${b.id}`);
      const findManyPublic = jest.spyOn(users, 'findManyPublic');
      const res = await t.api.get(`/api/users?ids=${c.id},${b.id},2000000002,${a.id},${c.id}`);
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toBe('application/json; charset=utf-8');
      expect(res.body.map((u: { id: number } | null) => u?.id ?? null)).toEqual([
        c.id,
        b.id,
        null,
        a.id,
        c.id,
      ]);
      expect(findManyPublic).toHaveBeenCalledTimes(1);
      expect([...findManyPublic.mock.calls[0][0]].sort()).toEqual([a.id, c.id, 2000000002].sort());

      // What the batch filled is what GET /api/users/:id serves.
      const single = await t.api.get(`/api/users/${a.id}`);
      expect(single.headers.get('x-cache')).toBe('HIT');
      expect(single.body).toEqual(res.body[3]);
      await t.api.get(`/api/users?ids=${a.id},${b.id},${c.id}`);
      expect(findManyPublic).toHaveBeenCalledTimes(1);
    });
  });

  describe('GET /api/posts/:id', () => {
    it('changes its ETag with the post, replaces it on PATCH and evicts it on DELETE', async () => {
      const author = await t.api.createUser();
      const { body: post } = await t.api.post(
        '/api/posts',
        { title: 'v1', body: 'b' },
        { token: author.token },
      );
      const first = await t.api.get(`/api/posts/${post.id}`);
      expect(first.headers.get('x-cache')).toBe('MISS');
      expect(first.headers.get('cache-control')).toBe('public, max-age=60');
      const oldEtag = first.headers.get('etag')!;
      expect(
        (await t.api.get(`/api/posts/${post.id}`, { headers: { 'if-none-match': oldEtag } }))
          .status,
      ).toBe(304);

      await t.api.patch(`/api/posts/${post.id}`, { title: 'v2' }, { token: author.token });
      const updated = await t.api.get(`/api/posts/${post.id}`, {
        headers: { 'if-none-match': oldEtag },
      });
      expect(updated.status).toBe(200);
      expect(updated.headers.get('x-cache')).toBe('HIT');
      expect(updated.body).toMatchObject({ title: 'v2', version: 2 });
      expect(updated.headers.get('etag')).not.toBe(oldEtag);

      expect((await t.api.delete(`/api/posts/${post.id}`, { token: author.token })).status).toBe(
        204,
      );
      expect((await t.api.get(`/api/posts/${post.id}`)).status).toBe(404);
    });
  });

  describe('GET /api/users/:id/dashboard', () => {
    const dashboard = (id: number) => t.api.get(`/api/users/${id}/dashboard`);

    it('is cached, and evicted by the owner’s posts, follows and the profiles it shows', async () => {
      const owner = await t.api.createUser('Owner');
      const fan = await t.api.createUser('Fan');
      await dashboard(owner.id);
      expect((await dashboard(owner.id)).headers.get('x-cache')).toBe('HIT');

      await t.api.post('/api/posts', { title: 'news', body: 'b' }, { token: owner.token });
      const afterPost = await dashboard(owner.id);
      expect(afterPost.headers.get('x-cache')).toBe('MISS');
      expect(afterPost.body.recentPosts.map((p: { title: string }) => p.title)).toEqual(['news']);

      await t.api.put(`/api/users/${owner.id}/follow`, { token: fan.token });
      const afterFollow = await dashboard(owner.id);
      expect(afterFollow.body.followerCount).toBe(1);
      expect(afterFollow.body.followers[0]).toMatchObject({ id: fan.id, name: 'Fan' });

      await t.api.patch(`/api/users/${fan.id}`, { name: 'Renamed fan' }, { token: fan.token });
      const afterRename = await dashboard(owner.id);
      expect(afterRename.headers.get('x-cache')).toBe('MISS');
      expect(afterRename.body.followers[0].name).toBe('Renamed fan');

      await t.api.delete(`/api/users/${owner.id}/follow`, { token: fan.token });
      expect((await dashboard(owner.id)).body.followerCount).toBe(0);
    });

    it('does not store a fill that read the profile before a PATCH made while it ran', async () => {
      const owner = await t.api.createUser('Before');
      const read = await readDashboardRacingRename(t.api, t.api, owner);
      expect(read.headers.get('x-cache')).toBe('MISS');
      expect(read.body.user.name).toBe('Before');
      const next = await dashboard(owner.id);
      expect(next.headers.get('x-cache')).toBe('MISS');
      expect(next.body.user.name).toBe('After');
    });
  });

  describe('GET /api/config', () => {
    it('has Cache-Control, an ETag and answers If-None-Match with 304', async () => {
      const res = await t.api.get('/api/config');
      expect(res.headers.get('cache-control')).toBe('public, max-age=3600');
      const etag = res.headers.get('etag')!;
      expect(etag).toMatch(/^W\/"[\w-]+"$/);
      expect((await t.api.get('/api/config')).headers.get('etag')).toBe(etag);
      const notModified = await t.api.get('/api/config', { headers: { 'if-none-match': etag } });
      expect(notModified.status).toBe(304);
      expect(notModified.text).toBe('');
    });
  });
});

describe('cache TTL (e2e)', () => {
  let t: TestApp;

  beforeAll(async () => {
    t = await startTestApp({ ...CACHE_TEST_ENV, CACHE_TTL_S: '1' });
  });
  afterAll(() => t.close());

  it('expires an entry after CACHE_TTL_S', async () => {
    const user = await t.api.createUser();
    expect((await t.api.get(`/api/users/${user.id}`)).headers.get('x-cache')).toBe('MISS');
    expect((await t.api.get(`/api/users/${user.id}`)).headers.get('x-cache')).toBe('HIT');
    await sleep(1_100);
    expect((await t.api.get(`/api/users/${user.id}`)).headers.get('x-cache')).toBe('MISS');
  });
});
