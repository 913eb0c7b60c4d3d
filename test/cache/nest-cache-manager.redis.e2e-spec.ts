import { randomUUID } from 'node:crypto';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter, NestFastifyApplication } from '@nestjs/platform-fastify';
import { NestCacheFixtureModule } from '../fixtures/nest-cache-fixture.module';
import { ApiClient } from '../utils/api-client';

interface Instance {
  app: NestFastifyApplication;
  api: ApiClient;
}

async function startInstance(name: string): Promise<Instance> {
  const app = await NestFactory.create<NestFastifyApplication>(
    NestCacheFixtureModule.forRoot(name, process.env.REDIS_URL),
    new FastifyAdapter({ logger: false }),
    { logger: ['error', 'warn'] },
  );
  await app.listen({ port: 0, host: '127.0.0.1' });
  return { app, api: new ApiClient(await app.getUrl()) };
}

/**
 * `@nestjs/cache-manager` used as Nest's docs show it (`@Inject(CACHE_MANAGER)`,
 * `CacheInterceptor`, `@CacheKey`, `@CacheTTL`), on loadstar's `CacheModule`: two app
 * instances on one Redis share its entries, and a write or a delete on one reaches the
 * other's in-process copy at once.
 */
describe("CACHE_MANAGER and Nest's CacheInterceptor on loadstar's tiers (e2e, shared Redis)", () => {
  let a: Instance;
  let b: Instance;

  beforeAll(async () => {
    [a, b] = await Promise.all([startInstance('A'), startInstance('B')]);
  }, 60_000);
  afterAll(async () => {
    await Promise.all([a?.app.close(), b?.app.close()]);
  });

  it('a value set through CACHE_MANAGER on A is read on B, replaced and evicted everywhere', async () => {
    const path = `/api/nest-cache/values/greeting-${randomUUID()}`;
    expect((await b.api.get(path)).body).toEqual({ value: null });

    expect((await a.api.put(path, { body: { value: 'hello' } })).status).toBe(200);
    expect((await b.api.get(path)).body).toEqual({ value: 'hello' });
    // Now in B's in-process tier too: only the invalidation bus can tell it about A's writes.
    expect((await b.api.get(path)).body).toEqual({ value: 'hello' });

    await a.api.put(path, { body: { value: { text: 'bonjour' } } });
    expect((await b.api.get(path)).body).toEqual({ value: { text: 'bonjour' } });

    expect((await a.api.delete(path)).status).toBe(200);
    expect((await b.api.get(path)).body).toEqual({ value: null });
    expect((await a.api.get(path)).body).toEqual({ value: null });
  });

  it('@CacheKey/@CacheTTL: B serves the response A cached; a delete on B makes A run its handler', async () => {
    await a.api.delete('/api/nest-cache/values/counted');
    const first = await a.api.get('/api/nest-cache/counted');
    expect(first.headers.get('x-cache')).toBe('MISS');
    expect(first.body.instance).toBe('A');

    const onB = await b.api.get('/api/nest-cache/counted');
    expect(onB.headers.get('x-cache')).toBe('HIT');
    expect(onB.body).toEqual(first.body);

    await b.api.delete('/api/nest-cache/values/counted');
    const again = await a.api.get('/api/nest-cache/counted');
    expect(again.headers.get('x-cache')).toBe('MISS');
    expect(again.body).toEqual({ instance: 'A', calls: first.body.calls + 1 });
  });

  it('never serves or stores a response to a request with credentials', async () => {
    const path = `/api/nest-cache/by-url?run=${randomUUID()}`;
    const credentials: Record<string, string>[] = [
      { authorization: 'Bearer someone' },
      { cookie: 'session=someone' },
    ];
    const calls: number[] = [];
    for (const headers of credentials) {
      const res = await a.api.get(path, { headers });
      expect(res.headers.get('x-cache')).toBeNull();
      calls.push(res.body.calls);
    }
    const anonymous = await a.api.get(path);
    expect(anonymous.headers.get('x-cache')).toBe('MISS');
    expect(anonymous.body.calls).toBe(calls[1] + 1);

    expect((await a.api.get(path, { headers: credentials[0] })).body.calls).toBe(calls[1] + 2);
    expect((await b.api.get(path)).headers.get('x-cache')).toBe('HIT');
  });
});
