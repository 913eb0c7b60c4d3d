import { startTestApp, TestApp } from '../utils/test-app';

describe('posts (e2e)', () => {
  let t: TestApp;

  beforeAll(async () => {
    t = await startTestApp();
  });
  afterAll(() => t.close());

  describe('POST /api/posts', () => {
    it('creates a post by the caller', async () => {
      const user = await t.api.createUser();
      const res = await t.api.post(
        '/api/posts',
        { title: 'Hello', body: 'World' },
        { token: user.token },
      );
      expect(res.status).toBe(201);
      expect(res.body).toMatchObject({
        id: expect.any(Number),
        authorId: user.id,
        title: 'Hello',
        body: 'World',
      });
      expect((await t.api.get(`/api/posts/${res.body.id}`)).body).toEqual(res.body);
    });

    it('accepts the longest title and body', async () => {
      const user = await t.api.createUser();
      const res = await t.api.post(
        '/api/posts',
        { title: 't'.repeat(200), body: 'b'.repeat(100_000) },
        { token: user.token },
      );
      expect(res.status).toBe(201);
    });

    it.each([
      ['an empty title', { title: '', body: 'b' }],
      ['an over-long title', { title: 't'.repeat(201), body: 'b' }],
      ['an over-long body', { title: 't', body: 'b'.repeat(100_001) }],
      ['a missing body', { title: 't' }],
      ['an unknown field', { title: 't', body: 'b', authorId: 1 }],
      ['a JSON array', [1, 2]],
      ['JSON null', null],
    ])('400 for %s', async (_, body) => {
      const user = await t.api.createUser();
      const res = await t.api.request('POST', '/api/posts', {
        rawBody: JSON.stringify(body),
        token: user.token,
      });
      expect(res.status).toBe(400);
      expect(res.body).toMatchObject({
        statusCode: 400,
        error: 'Bad Request',
        requestId: expect.any(String),
      });
    });

    it('400 for malformed JSON, 413 for a body over 1 MB, 401 without a token', async () => {
      const user = await t.api.createUser();
      const malformed = await t.api.request('POST', '/api/posts', {
        rawBody: '{"title": "x",',
        token: user.token,
      });
      expect(malformed.status).toBe(400);
      const huge = await t.api.post(
        '/api/posts',
        { title: 'x', body: 'b'.repeat(2_000_000) },
        { token: user.token },
      );
      expect(huge.status).toBe(413);
      expect(huge.body).toMatchObject({ statusCode: 413, requestId: expect.any(String) });
      expect((await t.api.post('/api/posts', { title: 'x', body: 'y' })).status).toBe(401);
    });
  });

  describe('PATCH and DELETE /api/posts/:id', () => {
    it('the author updates and deletes; others get 403; unknown posts 404', async () => {
      const author = await t.api.createUser();
      const other = await t.api.createUser();
      const { body: post } = await t.api.post(
        '/api/posts',
        { title: 'v1', body: 'b' },
        { token: author.token },
      );

      expect(
        (await t.api.patch(`/api/posts/${post.id}`, { title: 'hack' }, { token: other.token }))
          .status,
      ).toBe(403);
      expect((await t.api.delete(`/api/posts/${post.id}`, { token: other.token })).status).toBe(
        403,
      );

      const updated = await t.api.patch(
        `/api/posts/${post.id}`,
        { title: 'v2' },
        { token: author.token },
      );
      expect(updated.status).toBe(200);
      expect(updated.body).toMatchObject({
        id: post.id,
        title: 'v2',
        body: 'b',
        version: post.version + 1,
      });
      expect((await t.api.get(`/api/posts/${post.id}`)).body.title).toBe('v2');

      expect((await t.api.delete(`/api/posts/${post.id}`, { token: author.token })).status).toBe(
        204,
      );
      expect((await t.api.get(`/api/posts/${post.id}`)).status).toBe(404);
      expect(
        (await t.api.patch(`/api/posts/${post.id}`, { title: 'x' }, { token: author.token }))
          .status,
      ).toBe(404);
      expect((await t.api.delete(`/api/posts/${post.id}`, { token: author.token })).status).toBe(
        404,
      );
    });

    it('400 for an unknown field or an over-long title', async () => {
      const author = await t.api.createUser();
      const { body: post } = await t.api.post(
        '/api/posts',
        { title: 't', body: 'b' },
        { token: author.token },
      );
      expect(
        (await t.api.patch(`/api/posts/${post.id}`, { authorId: 1 }, { token: author.token }))
          .status,
      ).toBe(400);
      expect(
        (
          await t.api.patch(
            `/api/posts/${post.id}`,
            { title: 't'.repeat(201) },
            { token: author.token },
          )
        ).status,
      ).toBe(400);
    });
  });

  describe('GET /api/posts', () => {
    it('pages an author newest first with keyset cursors, each post exactly once', async () => {
      const author = await t.api.createUser();
      const ids: number[] = [];
      for (let i = 0; i < 7; i++) {
        ids.push(
          (await t.api.post('/api/posts', { title: `n${i}`, body: 'b' }, { token: author.token }))
            .body.id,
        );
      }
      const seen: number[] = [];
      let cursor: string | null = null;
      do {
        const query: string = `/api/posts?authorId=${author.id}&limit=3${cursor ? `&cursor=${cursor}` : ''}`;
        const res = await t.api.get(query);
        expect(res.status).toBe(200);
        seen.push(...res.body.items.map((p: { id: number }) => p.id));
        cursor = res.body.nextCursor;
      } while (cursor);
      expect(seen).toEqual([...ids].reverse());
    });

    it('defaults to 20 and caps at 100', async () => {
      const res = await t.api.get('/api/posts');
      expect(res.status).toBe(200);
      expect(res.body.items.length).toBeLessThanOrEqual(20);
    });

    it.each([
      ['limit=0'],
      ['limit=101'],
      ['limit=abc'],
      ['authorId=-1'],
      ['authorId=0x10'],
      ['limit=1e1'],
      ['cursor=not-a-cursor'],
      [`cursor=${Buffer.from('p1:-5').toString('base64url')}`],
      [`cursor=${'A'.repeat(65)}`],
    ])('400 for %s', async (query) => {
      const res = await t.api.get(`/api/posts?${query}`);
      expect(res.status).toBe(400);
      expect(res.body.error).toBe('Bad Request');
    });
  });

  describe('GET /api/posts/:id', () => {
    it('404 unknown, 400 malformed', async () => {
      expect((await t.api.get('/api/posts/2000000000')).status).toBe(404);
      expect((await t.api.get('/api/posts/x')).status).toBe(400);
    });
  });
});
