import { NestFactory } from '@nestjs/core';
import { FastifyAdapter, NestFastifyApplication } from '@nestjs/platform-fastify';
import { HttpErrorFilter, requestIdFor } from '@app/http';
import { register } from 'prom-client';
import { RateLimitFixtureModule } from '../fixtures/rate-limit-fixture.module';
import { ApiClient } from '../utils/api-client';
import { sequentialStatuses } from '../utils/rate-limits';

let nextClient = 0;
/** Each test acts as its own client (the loopback proxy is trusted), so tests share no counter. */
function newClientAddress(): string {
  nextClient += 1;
  return `198.51.100.${nextClient}`;
}

async function rejectionsOf(tier: string): Promise<number> {
  const metric = await register.getSingleMetric('rate_limit_rejections_total')?.get();
  return metric?.values.find((value) => value.labels.tier === tier)?.value ?? 0;
}

describe('rate-limit tier selection (e2e, fixture app)', () => {
  let app: NestFastifyApplication;
  let api: ApiClient;

  beforeAll(async () => {
    app = await NestFactory.create<NestFastifyApplication>(
      RateLimitFixtureModule.forRoot(),
      new FastifyAdapter({ logger: false, trustProxy: '127.0.0.1', genReqId: requestIdFor }),
      { logger: ['error', 'warn'] },
    );
    app.useGlobalFilters(new HttpErrorFilter());
    await app.listen({ port: 0, host: '127.0.0.1' });
    api = new ApiClient(await app.getUrl());
  });
  afterAll(() => app.close());

  const statuses = (path: string, count: number, address = newClientAddress()) =>
    sequentialStatuses(api, path, count, address);

  it('limits a plain route by default (2) and says so in the headers', async () => {
    const address = newClientAddress();
    const first = await api.get('/api/fixture/default', {
      headers: { 'x-forwarded-for': address },
    });
    expect(first.headers.get('ratelimit-limit')).toBe('2');
    expect(first.headers.get('ratelimit-remaining')).toBe('1');
    expect(Number(first.headers.get('ratelimit-reset'))).toBeGreaterThan(0);
    expect(await statuses('/api/fixture/default', 2, address)).toEqual([200, 429]);
  });

  it('@RateLimit(tier) adds the tier on top of default: the tighter one wins', async () => {
    expect(await statuses('/api/fixture/auth', 3)).toEqual([200, 200, 429]);
  });

  it("@SkipRateLimit('default') leaves only the named tier (4)", async () => {
    const before = await rejectionsOf('auth');
    expect(await statuses('/api/fixture/skip-default', 6)).toEqual([200, 200, 200, 200, 429, 429]);
    expect(await rejectionsOf('auth')).toBe(before + 2);
  });

  it("@SkipRateLimit('auth') leaves only default (2)", async () => {
    const before = await rejectionsOf('auth');
    expect(await statuses('/api/fixture/skip-auth', 3)).toEqual([200, 200, 429]);
    expect(await rejectionsOf('auth')).toBe(before);
  });

  it('a bare @SkipThrottle() of Nest skips only default: the named tier still applies', async () => {
    expect(await statuses('/api/fixture/nest-skip', 5)).toEqual([200, 200, 200, 200, 429]);
  });

  it.each([
    ['@SkipRateLimit() on a route with a tier', '/api/fixture/skip-all'],
    ["@SkipRateLimit('default', 'auth') naming every tier", '/api/fixture/skip-every-named-tier'],
    ['@SkipThrottle() naming every tier', '/api/fixture/nest-skip-every-tier'],
    ['@SkipRateLimit() on the controller', '/api/exempt'],
    ['@SkipThrottle() on the controller', '/api/nest-exempt'],
    ['a route outside /api (like /health, /metrics)', '/ops'],
  ])('%s: never limited, no limit headers', async (_, path) => {
    const address = newClientAddress();
    expect(await statuses(path, 8, address)).toEqual(Array(8).fill(200));
    const res = await api.get(path, { headers: { 'x-forwarded-for': address } });
    expect(res.headers.get('ratelimit-limit')).toBeNull();
  });

  it('a method can opt back in under a skipping controller (@SkipThrottle({ default: false }))', async () => {
    expect(await statuses('/api/nest-exempt/opted-in', 3)).toEqual([200, 200, 429]);
  });

  it('refuses with 429 in the error shape, with Retry-After in seconds', async () => {
    const address = newClientAddress();
    await statuses('/api/fixture/default', 2, address);
    const res = await api.get('/api/fixture/default', {
      headers: { 'x-forwarded-for': address, 'x-request-id': 'limited-1' },
    });
    expect(res.status).toBe(429);
    expect(res.body).toEqual({
      statusCode: 429,
      error: 'Too Many Requests',
      message: expect.stringMatching(/^Too many requests; retry in \d+ s$/),
      requestId: 'limited-1',
    });
    const retryAfter = Number(res.headers.get('retry-after'));
    expect(Number.isInteger(retryAfter)).toBe(true);
    expect(retryAfter).toBeGreaterThanOrEqual(1);
    expect(retryAfter).toBeLessThanOrEqual(60);
    expect(res.headers.get('ratelimit-remaining')).toBe('0');
  });

  describe("@RateLimit('auth', { by: ['address', 'body.email'] })", () => {
    const login = (address: string, email: unknown) =>
      api.post('/api/fixture/login', { email }, { headers: { 'x-forwarded-for': address } });

    it('keys by target email: rotating addresses does not escape the limit', async () => {
      const results: number[] = [];
      for (let i = 0; i < 6; i++) {
        results.push((await login(newClientAddress(), ' Victim@Example.test ')).status);
      }
      // default (2) is per address, so only the email counter (4) can stop this
      expect(results).toEqual([200, 200, 200, 200, 429, 429]);
    });

    it('keys by address: rotating emails does not escape the limit', async () => {
      const address = newClientAddress();
      const results: number[] = [];
      for (let i = 0; i < 3; i++) results.push((await login(address, `u${i}@example.test`)).status);
      // the address is also the default tier's client key (2)
      expect(results).toEqual([200, 200, 429]);
    });

    it('ignores a missing or non-string email (no email counter, still the address one)', async () => {
      const address = newClientAddress();
      expect((await login(address, undefined)).status).toBe(200);
      expect((await login(address, { $ne: 1 })).status).toBe(200);
      expect((await login(address, undefined)).status).toBe(429);
    });
  });
});
