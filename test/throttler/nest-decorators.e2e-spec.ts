import { NestFactory } from '@nestjs/core';
import { FastifyAdapter, NestFastifyApplication } from '@nestjs/platform-fastify';
import { HttpErrorFilter, requestIdFor } from '@app/http';
import {
  RateLimitFixtureModule,
  RefusedThrottleFixtureModule,
} from '../fixtures/rate-limit-fixture.module';
import { ApiClient } from '../utils/api-client';
import { PrivateRedis } from '../utils/private-redis';
import { sequentialStatuses } from '../utils/rate-limits';

let nextClient = 0;
/** Each test acts as its own client (the loopback proxy is trusted), so tests share no counter. */
function newClientAddress(): string {
  nextClient += 1;
  return `203.0.113.${nextClient}`;
}

describe.each([
  ['in process', false],
  ['in Redis', true],
])(
  "@nestjs/throttler's @Throttle and @SkipThrottle, counters %s (e2e, fixture app)",
  (_, redis) => {
    let server: PrivateRedis | undefined;
    let app: NestFastifyApplication;
    let api: ApiClient;

    beforeAll(async () => {
      if (redis) server = await PrivateRedis.start();
      app = await NestFactory.create<NestFastifyApplication>(
        RateLimitFixtureModule.forRoot(server?.url),
        new FastifyAdapter({ logger: false, trustProxy: '127.0.0.1', genReqId: requestIdFor }),
        { logger: ['error', 'warn'] },
      );
      app.useGlobalFilters(new HttpErrorFilter());
      await app.listen({ port: 0, host: '127.0.0.1' });
      api = new ApiClient(await app.getUrl());
    });
    afterAll(async () => {
      await app?.close();
      await server?.kill();
    });

    const statuses = (path: string, count: number, address = newClientAddress()) =>
      sequentialStatuses(api, path, count, address);

    it('@Throttle({ default: { limit: 3 } }) sets the route its own limit (default is 2)', async () => {
      const address = newClientAddress();
      const first = await api.get('/api/fixture/nest-throttle', {
        headers: { 'x-forwarded-for': address },
      });
      expect(first.headers.get('ratelimit-limit')).toBe('3');
      expect(await statuses('/api/fixture/nest-throttle', 3, address)).toEqual([200, 200, 429]);
    });

    it("the route's own counter is apart from the shared default budget", async () => {
      const address = newClientAddress();
      expect(await statuses('/api/fixture/default', 3, address)).toEqual([200, 200, 429]);
      expect(await statuses('/api/fixture/nest-throttle', 4, address)).toEqual([
        200, 200, 200, 429,
      ]);
    });

    it('@Throttle on a named tier replaces that tier on the route (auth 4 → 1)', async () => {
      expect(await statuses('/api/fixture/nest-throttle-tier', 2)).toEqual([200, 429]);
    });

    it('@Throttle with a name of its own adds a counter keyed by client', async () => {
      expect(await statuses('/api/fixture/nest-throttle-new-name', 2)).toEqual([200, 429]);
    });

    it('@SkipThrottle() beats @Throttle on the same route', async () => {
      expect(await statuses('/api/fixture/nest-throttle-skipped', 6)).toEqual(Array(6).fill(200));
    });

    it('@SkipThrottle() on a controller skips its routes', async () => {
      expect(await statuses('/api/nest-exempt', 6)).toEqual(Array(6).fill(200));
    });
  },
);

describe('@Throttle with an option the limiter cannot honour (e2e)', () => {
  it('stops the start, naming the route and the loadstar decorator', async () => {
    const app = await NestFactory.create<NestFastifyApplication>(
      RefusedThrottleFixtureModule,
      new FastifyAdapter({ logger: false }),
      { logger: false, abortOnError: false },
    );
    try {
      await expect(app.init()).rejects.toThrow(
        /@Throttle\(\{ default: \{ blockDuration \} \}\) on RefusedThrottleController\.blocked .*@RateLimit\('<tier>'/,
      );
    } finally {
      await app.close();
    }
  });
});
