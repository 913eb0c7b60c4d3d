import { randomBytes, randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { CacheInterceptor } from '@app/cache';
import type { ApiResponse, RequestOptions, TestUser } from '../utils/api-client';
import { accessLineOf, LogLine, waitForLogLines } from '../utils/log-lines';
import { startTestApp, TestApp } from '../utils/test-app';
import { testLogFile } from '../utils/test-logs';
import { CACHE_TEST_ENV } from './cache-test-env';

/** Differ between any two responses, whichever path served them. */
const UNCOMPARED_HEADERS = new Set(['date', 'x-request-id', 'keep-alive', 'connection']);
/** Seconds left in a rate-limit window: the two apps' windows start a moment apart. */
const WINDOW_HEADERS = new Set(['ratelimit-reset', 'retry-after']);
/** The same seconds in a 429's message. */
const RETRY_IN_SECONDS = /retry in \d+ s/;
/** Access-log fields that are the moment's, not the request's. */
const UNCOMPARED_LOG_FIELDS = ['time', 'pid', 'hostname', 'requestId', 'durationMs', 'level'];

interface Answer {
  status: number;
  headers: Record<string, string>;
  body: unknown;
  log: Omit<LogLine, 'requestId'>;
}

/**
 * Cache hits of `@Cached()` routes are served from a Fastify hook ahead of Nest's pipeline
 * (`CACHE_FAST_PATH`, on by default). Every cached route is asked the same questions, in the
 * same order, of an app with the fast path and of one without it: misses, hits, 304s, a tag
 * that does not match, bad and unknown ids, HEAD, a private route with and without a token, a
 * tier run out (429); status, headers, body and access-log line must be the same.
 */
describe('cache fast path parity (e2e)', () => {
  let fast: TestApp;
  let nest: TestApp;
  let user: TestUser;
  let postId: number;

  beforeAll(async () => {
    // the expensive tier (the dashboard's, also counted by address) runs out in the last test
    // one secret, so a token either app issued is valid in both; each app's cache its own (no
    // shared Redis, where the second app would hit what the first filled): the fast path
    // serves in-process (L1) hits only, in either storage mode
    const env = {
      ...CACHE_TEST_ENV,
      REDIS_URL: undefined,
      RATE_LIMIT_EXPENSIVE: '8/1m',
      LOG_LEVEL: 'info',
      JWT_SECRET: randomBytes(32).toString('hex'),
    };
    [nest, fast] = await Promise.all([
      startTestApp({ ...env, CACHE_FAST_PATH: 'false' }),
      startTestApp({ ...env, CACHE_FAST_PATH: 'true' }),
    ]);
    // what the setup sends, it sends to both apps, so that their counters agree
    [user] = await bothApps((app) => app.api.createUser('Parity'));
    const [post] = await bothApps((app) =>
      app.api.post('/api/posts', { title: 'parity', body: 'either way' }, { token: user.token }),
    );
    postId = post.body.id;
  });

  async function bothApps<T>(act: (app: TestApp) => Promise<T>): Promise<[T, T]> {
    return [await act(fast), await act(nest)];
  }
  afterAll(() => Promise.all([fast?.close(), nest?.close()]));
  afterEach(() => jest.restoreAllMocks());

  async function answerOf(
    app: TestApp,
    method: 'GET' | 'HEAD',
    path: string,
    options: RequestOptions = {},
  ): Promise<Answer> {
    const requestId = randomUUID();
    const headers = { ...options.headers, 'x-request-id': requestId };
    const response: ApiResponse = await app.api.request(method, path, { ...options, headers });
    const [line] = await waitForLogLines(
      () => readFileSync(testLogFile(), 'utf8'),
      accessLineOf(requestId),
    );
    expect(response.headers.get('x-request-id')).toBe(requestId);
    const log: Record<string, unknown> = { ...line };
    for (const field of UNCOMPARED_LOG_FIELDS) delete log[field];
    const compared: Record<string, string> = {};
    response.headers.forEach((value, name) => {
      if (UNCOMPARED_HEADERS.has(name)) return;
      compared[name] = WINDOW_HEADERS.has(name) ? 'seconds' : value;
    });
    const body =
      typeof response.body === 'object' && response.body !== null
        ? {
            ...(response.body as { message?: unknown }),
            requestId: undefined,
            // the two apps' windows started apart: one may say 60 s where the other says 59 s
            ...('message' in response.body && typeof response.body.message === 'string'
              ? { message: response.body.message.replace(RETRY_IN_SECONDS, 'retry in … s') }
              : {}),
          }
        : response.body;
    return { status: response.status, headers: compared, body, log: log as Answer['log'] };
  }

  /** The same request of both apps, one after the other; the answers must be equal. */
  async function expectSameAnswer(
    method: 'GET' | 'HEAD',
    path: string,
    options: RequestOptions = {},
  ): Promise<Answer> {
    const viaFastPath = await answerOf(fast, method, path, options);
    const viaNest = await answerOf(nest, method, path, options);
    expect(viaFastPath).toEqual(viaNest);
    return viaFastPath;
  }

  it('answers a miss, then hits, 304s and a tag that does not match, alike', async () => {
    const dashboard = `/api/users/${user.id}/dashboard`;
    for (const path of [`/api/users/${user.id}`, `/api/posts/${postId}`, dashboard]) {
      const miss = await expectSameAnswer('GET', path);
      expect(miss.headers['x-cache']).toBe('MISS');
      const hit = await expectSameAnswer('GET', path);
      expect(hit).toMatchObject({ status: 200, headers: { 'x-cache': 'HIT' } });
      const etag = hit.headers.etag;
      expect(await expectSameAnswer('GET', path, { headers: { 'if-none-match': etag } })).toEqual(
        expect.objectContaining({ status: 304, body: '' }),
      );
      // three requests of the dashboard's eight: the last test runs its tier out
      if (path === dashboard) continue;
      await expectSameAnswer('GET', path, { headers: { 'if-none-match': `W/"x", ${etag}` } });
      await expectSameAnswer('GET', path, { headers: { 'if-none-match': 'W/"other"' } });
      await expectSameAnswer('HEAD', path);
    }
  });

  it('answers bad and unknown ids alike', async () => {
    for (const id of ['0', 'abc', '01', '1e3', '99999999', '9'.repeat(80)]) {
      await expectSameAnswer('GET', `/api/users/${id}`);
      await expectSameAnswer('GET', `/api/posts/${id}`);
    }
  });

  it('answers the private route alike, with a token and without', async () => {
    for (let i = 0; i < 2; i++) {
      expect((await expectSameAnswer('GET', '/api/users/me')).status).toBe(401);
      expect((await expectSameAnswer('GET', '/api/users/me', { token: user.token })).status).toBe(
        200,
      );
    }
  });

  it('counts cache hits against the rate limit alike, up to the 429', async () => {
    const [other] = await bothApps((app) => app.api.createUser('Limited'));
    const path = `/api/users/${other.id}/dashboard`;
    const statuses: number[] = [];
    // the tier counts by address too, so how many are left depends on the tests before
    while (statuses.filter((status) => status === 429).length < 2 && statuses.length < 12) {
      statuses.push((await expectSameAnswer('GET', path, { token: other.token })).status);
    }
    expect(statuses.slice(-3)).toEqual([200, 429, 429]);
    expect(statuses.filter((status) => status === 200).length).toBeGreaterThan(1);
  });

  it('counts each hit it serves once against the limit', async () => {
    const path = `/api/users/${user.id}`;
    await bothApps((app) => app.api.get(path));
    const remaining: number[] = [];
    for (let i = 0; i < 3; i++) {
      const [hit] = await bothApps((app) => app.api.get(path));
      expect(hit.headers.get('x-cache')).toBe('HIT');
      remaining.push(Number(hit.headers.get('ratelimit-remaining')));
    }
    expect([remaining[0] - remaining[1], remaining[1] - remaining[2]]).toEqual([1, 1]);
  });

  it('serves hits without Nest’s pipeline only where the fast path is on', async () => {
    const path = `/api/users/${user.id}`;
    await expectSameAnswer('GET', path);
    const intercepted = jest.spyOn(CacheInterceptor.prototype, 'intercept');
    expect((await fast.api.get(path)).headers.get('x-cache')).toBe('HIT');
    expect(intercepted).not.toHaveBeenCalled();
    expect((await nest.api.get(path)).headers.get('x-cache')).toBe('HIT');
    expect(intercepted).toHaveBeenCalledTimes(1);
  });
});
