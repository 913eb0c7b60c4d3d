import { CONTRACT_RATE_LIMITS } from '../utils/rate-limits';
import { startTestApp, TestApp } from '../utils/test-app';

describe('platform (e2e)', () => {
  let t: TestApp;

  beforeAll(async () => {
    t = await startTestApp(CONTRACT_RATE_LIMITS);
  });
  afterAll(() => t.close());

  describe('x-request-id', () => {
    it('is on every response, errors included', async () => {
      for (const path of ['/api/config', '/api/users/abc', '/api/nope']) {
        const res = await t.api.get(path);
        expect(res.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
      }
    });

    it('echoes a sane incoming id, in the header and the error body', async () => {
      const res = await t.api.get('/api/users/abc', {
        headers: { 'x-request-id': 'trace-123.abc' },
      });
      expect(res.headers.get('x-request-id')).toBe('trace-123.abc');
      expect(res.body.requestId).toBe('trace-123.abc');
    });

    it.each([
      ['too long', 'a'.repeat(129)],
      ['with spaces', 'a b'],
      ['with quotes', 'a"b'],
    ])('replaces one that is %s', async (_, id) => {
      const res = await t.api.get('/api/config', { headers: { 'x-request-id': id } });
      expect(res.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
    });
  });

  it('GET /api/config serves the public settings', async () => {
    const res = await t.api.get('/api/config');
    expect(res.status).toBe(200);
    expect(res.headers.get('cache-control')).toBe('public, max-age=3600');
    expect(res.body).toMatchObject({
      version: expect.any(String),
      rateLimits: {
        default: { limit: 600, windowSeconds: 60 },
        auth: { limit: 10, windowSeconds: 900 },
        expensive: { limit: 30, windowSeconds: 60 },
      },
      limits: { bodyMaxBytes: 1_048_576, usersBatchMax: 100, postsPageMax: 100 },
    });
  });

  it('unknown routes are 404 in the error shape', async () => {
    const res = await t.api.get('/api/nope/123');
    expect(res.status).toBe(404);
    expect(res.body).toEqual({
      statusCode: 404,
      error: 'Not Found',
      message: expect.any(String),
      requestId: expect.any(String),
    });
  });

  it.each([
    ['a parameter over the router limit', 'GET', `/api/users/${'9'.repeat(10_240)}`, {}, 414],
    ['a path that is not valid percent-encoding', 'GET', '/api/users/%c3%28', {}, 400],
    ['a method without routes on a malformed path', 'PROPFIND', '/api/x/%ff', {}, 404],
    ['headers over 16 KB', 'GET', '/api/config', { 'x-big': 'x'.repeat(20_000) }, 431],
  ])(
    'answers %s in the error shape with x-request-id',
    async (_, method, path, headers, status) => {
      const res = await t.api.request(method, path, { headers });
      expect(res.status).toBe(status);
      expect(res.body).toEqual({
        statusCode: status,
        error: expect.any(String),
        message: expect.any(String),
        requestId: res.headers.get('x-request-id'),
      });
    },
  );

  it('refuses a body nested thousands of levels deep with 400, not a stack overflow', async () => {
    const depth = 10_000;
    const res = await t.api.post('/api/auth/login', undefined, {
      rawBody: `{"email":${'['.repeat(depth)}${']'.repeat(depth)}}`,
    });
    expect(res.status).toBe(400);
    expect(res.body.message).toMatch(/nests deeper than/);
  });

  it('serves the OpenAPI document with every domain route', async () => {
    const res = await t.api.get('/docs-json');
    expect(res.status).toBe(200);
    expect(Object.keys(res.body.paths)).toEqual(
      expect.arrayContaining([
        '/api/auth/register',
        '/api/auth/login',
        '/api/users/me',
        '/api/users/{id}',
        '/api/users',
        '/api/users/{id}/dashboard',
        '/api/users/{id}/follow',
        '/api/posts',
        '/api/posts/{id}',
        '/api/config',
      ]),
    );
  });
});
