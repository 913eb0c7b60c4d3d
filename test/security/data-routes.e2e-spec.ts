import { randomUUID } from 'node:crypto';
import { DataSource } from 'typeorm';
import { TestUser } from '../utils/api-client';
import { startTestApp, TestApp } from '../utils/test-app';
import { importCsv } from '../posts/csv-fixtures';
import { rawRequest, RawResponse } from '../utils/raw-request';

/**
 * The security pass over the data routes (issue 17, item 2): one user can never change another's
 * data, request bodies cannot set server-owned fields, private responses reach their owner only
 * however the request is spelled, and batches and pages are bounded.
 */
describe('data routes under a hostile caller (e2e)', () => {
  let t: TestApp;
  let db: DataSource;
  let a: TestUser;
  let b: TestUser;
  let c: TestUser;
  let postOfA: number;
  let postOfB: number;

  /** Everything stored about a user: profile (hash included), posts, follows either way. */
  const rowsOf = async (user: TestUser) => ({
    user: await db.query('SELECT * FROM users WHERE id = $1', [user.id]),
    posts: await db.query('SELECT * FROM posts WHERE author_id = $1 ORDER BY id', [user.id]),
    follows: await db.query(
      'SELECT * FROM follows WHERE follower_id = $1 OR followee_id = $1 ORDER BY 1, 2',
      [user.id],
    ),
  });

  const send = (
    method: string,
    path: string,
    caller?: TestUser,
    body?: unknown,
    headers: Record<string, string> = {},
  ): Promise<RawResponse> =>
    rawRequest(
      t.url,
      method,
      path,
      {
        ...(caller ? { authorization: `Bearer ${caller.token}` } : {}),
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        ...headers,
      },
      body === undefined ? undefined : JSON.stringify(body),
    );

  beforeAll(async () => {
    t = await startTestApp();
    db = t.app.get(DataSource);
    [a, b, c] = [
      await t.api.createUser('Attacker A'),
      await t.api.createUser('Victim B'),
      await t.api.createUser('Third C'),
    ];
    postOfA = (await t.api.post('/api/posts', { title: 'A', body: 'a' }, { token: a.token })).body
      .id;
    postOfB = (await t.api.post('/api/posts', { title: 'B', body: 'b' }, { token: b.token })).body
      .id;
    expect((await t.api.put(`/api/users/${c.id}/follow`, { token: b.token })).status).toBe(204);
    expect((await t.api.put(`/api/users/${b.id}/follow`, { token: c.token })).status).toBe(204);
  });
  afterAll(() => t.close());

  describe('ownership: A never changes or deletes B’s data', () => {
    it.each([
      [
        'PATCH B’s profile → 403',
        'PATCH',
        () => `/api/users/${b.id}`,
        () => ({ bio: 'hacked' }),
        403,
      ],
      [
        'PATCH B’s post → 403',
        'PATCH',
        () => `/api/posts/${postOfB}`,
        () => ({ title: 'hacked' }),
        403,
      ],
      ['DELETE B’s post → 403', 'DELETE', () => `/api/posts/${postOfB}`, () => undefined, 403],
      [
        'PATCH B’s profile with A’s id in the query → 403',
        'PATCH',
        () => `/api/users/${b.id}?id=${a.id}`,
        () => ({ bio: 'x' }),
        403,
      ],
      [
        'PATCH B’s post with A as authorId in the query → 403',
        'PATCH',
        () => `/api/posts/${postOfB}?authorId=${a.id}`,
        () => ({ title: 'x' }),
        403,
      ],
      [
        'PATCH oneself with B’s id in the body → 400',
        'PATCH',
        () => `/api/users/${a.id}`,
        () => ({ id: b.id, bio: 'x' }),
        400,
      ],
    ])('%s', async (_, method, path, body, status) => {
      const before = await rowsOf(b);
      const res = await send(method, path(), a, body());
      expect(res.status).toBe(status);
      expect(JSON.parse(res.text)).toMatchObject({
        statusCode: status,
        requestId: expect.any(String),
      });
      expect(await rowsOf(b)).toEqual(before);
    });

    it('follow routes act on the caller’s own follows only', async () => {
      const before = await rowsOf(b);
      // B follows C and C follows B; A unfollowing or following either changes only A's rows
      for (const [method, target] of [
        ['DELETE', c.id],
        ['DELETE', b.id],
        ['PUT', c.id],
        ['PUT', b.id],
      ] as const) {
        expect((await send(method, `/api/users/${target}/follow`, a)).status).toBe(204);
      }
      const after = await rowsOf(b);
      expect(after.user).toEqual(before.user);
      expect(after.posts).toEqual(before.posts);
      expect(
        after.follows.filter((row: { follower_id: number }) => row.follower_id !== a.id),
      ).toEqual(before.follows);
      expect((await send('PUT', `/api/users/${a.id}/follow`, a)).status).toBe(400);
    });

    it('new and imported posts are the caller’s, whatever the body names', async () => {
      const created = await send('POST', '/api/posts', a, {
        title: 't',
        body: 'b',
        authorId: b.id,
      });
      expect(created.status).toBe(400);
      const title = `imported by A ${randomUUID()}`;
      const res = await importCsv(
        t.api,
        a.token,
        `authorId,id,title,body\n${b.id},${postOfB},${title},into B?\n`,
      );
      expect(res.body).toEqual({ imported: 1, failed: 0, errors: [] });
      const [row] = await db.query('SELECT author_id FROM posts WHERE title = $1', [title]);
      expect(row.author_id).toBe(a.id);
      expect((await rowsOf(b)).posts).toHaveLength(1);
    });
  });

  describe('mass assignment: server-owned fields in a body are a 400 and change nothing', () => {
    const userFields = {
      id: 1,
      email: 'taken-over@example.test',
      passwordHash: 'scrypt$x',
      password_hash: 'scrypt$x',
      password: 'new-password-123',
      version: 99,
      createdAt: '2000-01-01T00:00:00.000Z',
      updatedAt: '2000-01-01T00:00:00.000Z',
    };
    const postFields = {
      id: 1,
      authorId: 1,
      author_id: 1,
      version: 99,
      createdAt: '2000-01-01T00:00:00.000Z',
      updatedAt: '2000-01-01T00:00:00.000Z',
    };

    it.each(Object.entries(userFields))('PATCH /api/users/:id with %s', async (field, value) => {
      const before = await rowsOf(a);
      const res = await send('PATCH', `/api/users/${a.id}`, a, { bio: 'ok', [field]: value });
      expect(res.status).toBe(400);
      expect(JSON.parse(res.text).message).toContain(`property ${field} should not exist`);
      expect(await rowsOf(a)).toEqual(before);
    });

    it.each(Object.entries(postFields))('PATCH /api/posts/:id with %s', async (field, value) => {
      const before = await rowsOf(a);
      const res = await send('PATCH', `/api/posts/${postOfA}`, a, { title: 'ok', [field]: value });
      expect(res.status).toBe(400);
      expect(JSON.parse(res.text).message).toContain(`property ${field} should not exist`);
      expect(await rowsOf(a)).toEqual(before);
    });

    it.each(Object.entries(postFields))('POST /api/posts with %s', async (field, value) => {
      const before = await rowsOf(a);
      const res = await send('POST', '/api/posts', a, { title: 't', body: 'b', [field]: value });
      expect(res.status).toBe(400);
      expect(await rowsOf(a)).toEqual(before);
    });

    it.each([
      ['a differently cased field', { Email: 'x@example.test' }],
      ['a nested object', { bio: { $set: 'x' } }],
      ['an array for a text field', { name: ['x'] }],
    ])('PATCH /api/users/:id with %s', async (_, body) => {
      const before = await rowsOf(a);
      expect((await send('PATCH', `/api/users/${a.id}`, a, body)).status).toBe(400);
      expect(await rowsOf(a)).toEqual(before);
    });
  });

  describe('cache privacy: B’s private data reaches B only', () => {
    /** Spellings of the caller's own-profile route. */
    const ownProfile = [
      '/api/users/me',
      '/api/users/me?x=1',
      '/api/users/me/',
      '/api/users/me//',
      '/api//users/me',
      '//api/users/me',
      '/api/users//me',
      '/API/users/me',
      '/api/Users/me',
      '/api/users/ME',
      '/api/users/Me',
      '/api/users/%6de',
      '/api/users/m%65',
      '/api/%75sers/me',
      '/api/users/%6D%65',
      '/api/users/me;x=1',
      '/api/users;x=1/me',
      '/api/users/./me',
      '/api/users/../users/me',
      '/api/users/me%2f',
      '/api/users/me%3Fx=1',
      '/api/users/me%00',
      '/api/users/me%20',
      '/api/users/me.json',
    ];
    /** Those, one naming B in its query, and the routes that show B publicly. */
    const spellings = (): string[] => [
      ...ownProfile,
      `/api/users/me?id=${b.id}&user=${b.id}`,
      `/api/users/${b.id}`,
      `/api/users/${b.id}/`,
      `/api/users/${b.id};me`,
      `/api/users?ids=${b.id}`,
      `/api/users/${b.id}/dashboard`,
    ];
    const headerSets = (etagOfB: string): Record<string, string>[] => [
      {},
      { 'x-user-id': String(b.id), 'x-forwarded-user': b.email },
      { 'x-original-url': '/api/users/me', 'x-rewrite-url': '/api/users/me' },
      { cookie: `session=${b.token}`, 'x-forwarded-for': '10.0.0.2' },
      { 'if-none-match': etagOfB },
      { 'cache-control': 'no-cache', pragma: 'no-cache' },
    ];

    it('no read by A or anonymous, cached or not, carries B’s email; private answers say so', async () => {
      const bEmail = b.email.toLowerCase();
      const ownFirst = await send('GET', '/api/users/me', b);
      expect(JSON.parse(ownFirst.text).email).toBe(bEmail);
      const etagOfB = String(ownFirst.headers.etag);
      // B warms every cache entry first, under every spelling
      for (const path of spellings()) await send('GET', path, b);

      const leaks: string[] = [];
      const unmarked: string[] = [];
      for (const [who, caller] of [
        ['A', a],
        ['anonymous', undefined],
      ] as const) {
        for (const path of spellings()) {
          const head = await send('HEAD', path, caller);
          if (who === 'anonymous' && ownProfile.includes(path) && head.status < 300) {
            leaks.push(`anonymous HEAD ${path} → ${head.status}`);
          }
          for (const headers of headerSets(etagOfB)) {
            const res = await send('GET', path, caller, undefined, headers);
            const where = `${who} GET ${path} ${JSON.stringify(headers)} → ${res.status}`;
            if (res.status >= 500 || res.text.toLowerCase().includes(bEmail)) leaks.push(where);
            if (who === 'anonymous' && /"email"/.test(res.text)) leaks.push(where);
            if (res.status === 304 && who === 'anonymous') leaks.push(where);
            if (/"email"/.test(res.text) && res.headers['cache-control'] !== 'private, no-cache') {
              unmarked.push(where);
            }
          }
        }
      }
      expect(leaks).toEqual([]);
      expect(unmarked).toEqual([]);
    }, 60_000);

    it('A with B’s ETag gets A’s own profile, not a 304', async () => {
      const own = await send('GET', '/api/users/me', b);
      const res = await send('GET', '/api/users/me', a, undefined, {
        'if-none-match': String(own.headers.etag),
      });
      expect(res.status).toBe(200);
      expect(JSON.parse(res.text).email).toBe(a.email.toLowerCase());
    });
  });

  describe('batch and page limits', () => {
    const many = (count: number, id: () => number) =>
      Array.from({ length: count }, () => id()).join(',');

    it.each([
      ['101 ids', () => many(101, () => b.id)],
      ['1 000 ids', () => many(1_000, () => b.id)],
      ['an id of 17 digits', () => '12345678901234567'],
      ['id 0', () => '0'],
      ['a negative id', () => '-1'],
      ['a signed id', () => '%2B1'],
      ['a padded id', () => '%201'],
      ['a decimal id', () => '1.0'],
      ['an exponent', () => '1e3'],
      ['a hexadecimal id', () => '0x1'],
      ['an empty entry', () => '1,,2'],
      ['a trailing comma', () => '1,'],
      ['ids given twice', () => '1&ids=2'],
    ])('GET /api/users?ids= with %s → 400', async (_, ids) => {
      const res = await send('GET', `/api/users?ids=${ids()}`);
      expect(res.status).toBe(400);
      expect(JSON.parse(res.text)).toMatchObject({ statusCode: 400, error: 'Bad Request' });
    });

    it('GET /api/users?ids= answers 100 duplicates and ids beyond the key range', async () => {
      const dupes = await send('GET', `/api/users?ids=${many(100, () => b.id)}`);
      expect(dupes.status).toBe(200);
      const users = JSON.parse(dupes.text) as { id: number }[];
      expect(users).toHaveLength(100);
      expect(new Set(users.map((user) => user.id))).toEqual(new Set([b.id]));

      const huge = await send('GET', `/api/users?ids=2147483648,9999999999999999,${b.id}`);
      expect(huge.status).toBe(200);
      expect(JSON.parse(huge.text).map((user: { id: number } | null) => user?.id ?? null)).toEqual([
        null,
        null,
        b.id,
      ]);
    });

    it.each([
      'limit=101',
      'limit=1000000',
      'limit=99999999999999999999',
      'limit=0',
      'limit=-1',
      'limit=1e2',
      'limit=100.0',
      'limit=%20100',
      'limit=0x64',
      'limit=5&limit=6',
      'authorId=2147483648',
    ])('GET /api/posts?%s → 400', async (query) => {
      const res = await send('GET', `/api/posts?${query}`);
      expect(res.status).toBe(400);
      expect(JSON.parse(res.text)).toMatchObject({ statusCode: 400, error: 'Bad Request' });
    });

    it('GET /api/posts serves at most 100 posts a page', async () => {
      const res = await send('GET', '/api/posts?limit=100');
      expect(res.status).toBe(200);
      expect(JSON.parse(res.text).items.length).toBeLessThanOrEqual(100);
    });
  });
});
