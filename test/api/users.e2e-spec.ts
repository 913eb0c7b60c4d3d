import { startTestApp, TestApp } from '../utils/test-app';

describe('users (e2e)', () => {
  let t: TestApp;

  beforeAll(async () => {
    t = await startTestApp();
  });
  afterAll(() => t.close());

  describe('GET /api/users/me', () => {
    it('returns the caller with email, privately', async () => {
      const user = await t.api.createUser('Me');
      const res = await t.api.get('/api/users/me', { token: user.token });
      expect(res.status).toBe(200);
      expect(res.body).toMatchObject({ id: user.id, email: user.email.toLowerCase(), name: 'Me' });
      expect(res.headers.get('cache-control')).toBe('private, no-cache');
    });

    it('401 without a token', async () => {
      expect((await t.api.get('/api/users/me')).status).toBe(401);
    });
  });

  describe('GET /api/users/:id', () => {
    it('returns the public user: no email, no hash', async () => {
      const user = await t.api.createUser('Public');
      const res = await t.api.get(`/api/users/${user.id}`);
      expect(res.status).toBe(200);
      expect(Object.keys(res.body).sort()).toEqual(['bio', 'createdAt', 'id', 'name', 'updatedAt']);
      expect(res.body).toMatchObject({ id: user.id, name: 'Public', bio: '' });
    });

    it('404 for an unknown id', async () => {
      const res = await t.api.get('/api/users/2000000000');
      expect(res.status).toBe(404);
      expect(res.body).toMatchObject({
        statusCode: 404,
        error: 'Not Found',
        requestId: expect.any(String),
      });
    });

    it.each(['0', '-1', 'abc', '1.5', '1e3', '0x10', '%20', '9'.repeat(30)])(
      '400 for id %s',
      async (id) => {
        const res = await t.api.get(`/api/users/${id}`);
        expect(res.status).toBe(400);
        expect(res.body.message).toBe('id must be a positive integer');
      },
    );

    it('404 for an id past the key range', async () => {
      expect((await t.api.get('/api/users/99999999999')).status).toBe(404);
    });
  });

  describe('GET /api/users?ids=', () => {
    it('answers in the order asked, null for unknown ids', async () => {
      const a = await t.api.createUser('A');
      const b = await t.api.createUser('B');
      const res = await t.api.get(`/api/users?ids=${b.id},2000000000,${a.id},${b.id}`);
      expect(res.status).toBe(200);
      expect(res.body.map((u: { id: number } | null) => u?.id ?? null)).toEqual([
        b.id,
        null,
        a.id,
        b.id,
      ]);
      expect(res.body[0]).not.toHaveProperty('email');
    });

    it('400 beyond 100 ids, for a bad id and without ids', async () => {
      const ids = Array.from({ length: 101 }, (_, i) => i + 1).join(',');
      expect((await t.api.get(`/api/users?ids=${ids}`)).status).toBe(400);
      expect((await t.api.get('/api/users?ids=1,x')).status).toBe(400);
      expect((await t.api.get('/api/users?ids=1,,2')).status).toBe(400);
      expect((await t.api.get('/api/users')).status).toBe(400);
    });

    it('accepts exactly 100 ids', async () => {
      const ids = Array.from({ length: 100 }, (_, i) => i + 1).join(',');
      const res = await t.api.get(`/api/users?ids=${ids}`);
      expect(res.status).toBe(200);
      expect(res.body).toHaveLength(100);
    });
  });

  describe('PATCH /api/users/:id', () => {
    it('updates oneself and the next read shows it', async () => {
      const user = await t.api.createUser('Before');
      const res = await t.api.patch(
        `/api/users/${user.id}`,
        { name: 'After', bio: 'hello' },
        { token: user.token },
      );
      expect(res.status).toBe(200);
      expect(res.body).toMatchObject({
        id: user.id,
        name: 'After',
        bio: 'hello',
        email: user.email.toLowerCase(),
      });
      expect((await t.api.get(`/api/users/${user.id}`)).body).toMatchObject({
        name: 'After',
        bio: 'hello',
      });
    });

    it('403 for someone else, 401 without a token', async () => {
      const a = await t.api.createUser();
      const b = await t.api.createUser('Victim');
      expect(
        (await t.api.patch(`/api/users/${b.id}`, { name: 'x' }, { token: a.token })).status,
      ).toBe(403);
      expect((await t.api.patch(`/api/users/${b.id}`, { name: 'x' })).status).toBe(401);
      expect((await t.api.get(`/api/users/${b.id}`)).body.name).toBe('Victim');
    });

    it.each([
      ['an unknown field', { name: 'x', email: 'evil@example.test' }],
      ['an over-long name', { name: 'n'.repeat(101) }],
      ['an over-long bio', { bio: 'b'.repeat(1001) }],
      ['an empty name', { name: '' }],
      ['nothing to change', {}],
    ])('400 for %s', async (_, body) => {
      const user = await t.api.createUser();
      const res = await t.api.patch(`/api/users/${user.id}`, body, { token: user.token });
      expect(res.status).toBe(400);
    });
  });

  describe('GET /api/users/:id/dashboard', () => {
    it('gathers user, recent posts, follower counts and followers', async () => {
      const owner = await t.api.createUser('Owner');
      const fans = [await t.api.createUser('Fan1'), await t.api.createUser('Fan2')];
      for (const fan of fans)
        await t.api.put(`/api/users/${owner.id}/follow`, { token: fan.token });
      await t.api.put(`/api/users/${fans[0].id}/follow`, { token: owner.token });
      for (let i = 0; i < 12; i++) {
        await t.api.post('/api/posts', { title: `p${i}`, body: 'b' }, { token: owner.token });
      }
      const res = await t.api.get(`/api/users/${owner.id}/dashboard`);
      expect(res.status).toBe(200);
      expect(res.body.user).toMatchObject({ id: owner.id, name: 'Owner' });
      expect(res.body.recentPosts.map((p: { title: string }) => p.title)).toEqual(
        Array.from({ length: 10 }, (_, i) => `p${11 - i}`),
      );
      expect(res.body.followerCount).toBe(2);
      expect(res.body.followingCount).toBe(1);
      expect(res.body.followers.map((u: { id: number }) => u.id).sort()).toEqual(
        fans.map((f) => f.id).sort(),
      );
      expect(res.body.followers[0]).not.toHaveProperty('email');
    });

    it('404 for an unknown user', async () => {
      expect((await t.api.get('/api/users/2000000000/dashboard')).status).toBe(404);
    });
  });
});
