import { CacheService } from '@app/cache';
import { eventually } from '../utils/net';
import { startTestApp, TestApp } from '../utils/test-app';
import { PrivateRedis } from '../utils/private-redis';
import { cacheOperations } from './cache-operations';
import { CACHE_TEST_ENV } from './cache-test-env';

/** The app on a Redis of the test's own, which the tests stop, freeze and restart. */
describe('cache when Redis fails (e2e)', () => {
  let redis: PrivateRedis;
  let t: TestApp;
  let cache: CacheService;

  beforeAll(async () => {
    redis = await PrivateRedis.start();
    t = await startTestApp({ ...CACHE_TEST_ENV, REDIS_URL: redis.url });
    cache = t.app.get(CacheService);
  });
  afterAll(async () => {
    await t?.close();
    redis?.resume();
    await redis?.kill();
  });

  const inRedis = (key: string) => redis.command((client) => client.exists(`loadstar:v2:{${key}}`));

  it('reads a batch with one script and stores its misses with one more', async () => {
    const ids = [];
    for (let i = 0; i < 3; i++) ids.push((await t.api.createUser()).id);
    const commands = ['eval', 'mget', 'exec'];
    const before = await Promise.all(commands.map((command) => redis.calls(command)));
    const res = await t.api.get(`/api/users?ids=${ids.join(',')}`);
    expect(res.status).toBe(200);
    const after = await Promise.all(commands.map((command) => redis.calls(command)));
    expect(after.map((calls, i) => calls - before[i])).toEqual([2, 0, 0]);
    for (const id of ids) expect(await inRedis(`user:${id}`)).toBe(1);
  });

  it('serves from the database while Redis is down, and shares again once it is back', async () => {
    const user = await t.api.createUser('Up');
    const cold = await t.api.createUser('Cold');
    await t.api.get(`/api/users/${user.id}`);
    expect(await inRedis(`user:${user.id}`)).toBe(1);
    const errorsBefore = await cacheOperations(t.api, 'error');

    await redis.kill();
    const coldRead = await t.api.get(`/api/users/${cold.id}`);
    expect(coldRead.status).toBe(200);
    expect(coldRead.headers.get('x-cache')).toBe('MISS');
    expect(coldRead.body).toMatchObject({ id: cold.id, name: 'Cold' });
    expect((await t.api.get(`/api/users/${user.id}`)).status).toBe(200);
    const patch = await t.api.patch(
      `/api/users/${user.id}`,
      { name: 'Written while down' },
      { token: user.token },
    );
    expect(patch.status).toBe(200);
    expect((await t.api.get(`/api/users/${user.id}`)).body.name).toBe('Written while down');
    expect(cache.health()).toMatchObject({ store: 'redis', degraded: true, redis: 'down' });
    expect(await cacheOperations(t.api, 'error')).toBeGreaterThan(errorsBefore);
    // the app serves without Redis, so it stays in the load balancer, Redis named as degraded
    const degraded = await t.api.get('/health/ready');
    expect([degraded.status, degraded.body.degraded]).toEqual([200, ['redis']]);

    await redis.restart();
    await eventually(async () => {
      const res = await t.api.get(`/api/users/${user.id}`);
      return res.headers.get('x-cache') === 'HIT' && (await inRedis(`user:${user.id}`)) === 1;
    });
    expect(cache.health()).toEqual({
      store: 'redis',
      degraded: false,
      redis: 'up',
      invalidationBus: 'up',
    });
    await eventually(async () => {
      const ready = await t.api.get('/health/ready');
      return ready.status === 200 && ready.body.degraded.length === 0;
    });
    expect((await t.api.get(`/api/users/${user.id}`)).body.name).toBe('Written while down');
  });

  it('tells the other processes of a write whose command timed out while Redis stayed up', async () => {
    const user = await t.api.createUser('Before');
    await t.api.get(`/api/users/${user.id}`);
    const invalidated: string[][] = [];
    await redis.command(async (subscriber) => {
      await subscriber.subscribe('loadstar:v2:invalidate', (raw) =>
        invalidated.push((JSON.parse(raw) as { keys: string[] }).keys),
      );
      // writes wait out the command timeout (a slow Redis, not a lost one) and run afterwards
      await redis.command((client) => client.sendCommand(['CLIENT', 'PAUSE', '500', 'WRITE']));
      const patch = await t.api.patch(
        `/api/users/${user.id}`,
        { name: 'After' },
        { token: user.token },
      );
      expect(patch.status).toBe(200);
      expect(cache.health()).toMatchObject({ degraded: false, redis: 'up' });
      await eventually(
        async () => invalidated.some((keys) => keys.includes(`user:${user.id}`)),
        3_000,
      );
    });
    expect((await t.api.get(`/api/users/${user.id}`)).body.name).toBe('After');
  });

  it('answers while Redis hangs, and no write made meanwhile is lost once it answers', async () => {
    const user = await t.api.createUser('Before');
    const cold = [await t.api.createUser('Cold'), await t.api.createUser('Cold 2')];
    cold.push(await t.api.createUser('Cold 3'));
    await t.api.get(`/api/users/${user.id}`);
    expect(await inRedis(`user:${user.id}`)).toBe(1);

    redis.pause();
    try {
      // Every command times out: after three the breaker skips Redis, and the write below can
      // only reach this process — Redis keeps the old profile until the eviction is replayed.
      for (const { id, name } of cold) {
        const coldRead = await t.api.get(`/api/users/${id}`);
        expect(coldRead.status).toBe(200);
        expect(coldRead.body.name).toBe(name);
      }
      expect(cache.health().degraded).toBe(true);
      const patch = await t.api.patch(
        `/api/users/${user.id}`,
        { name: 'Written while hung' },
        { token: user.token },
      );
      expect(patch.status).toBe(200);
      expect((await t.api.get(`/api/users/${user.id}`)).body.name).toBe('Written while hung');
    } finally {
      redis.resume();
    }

    await eventually(async () => {
      await t.api.get(`/api/users/${cold[0].id}`);
      return !cache.health().degraded;
    });
    await eventually(async () => (await inRedis(`user:${user.id}`)) === 0, 2_000);
    const read = await t.api.get(`/api/users/${user.id}`);
    expect(read.body.name).toBe('Written while hung');
  });
});
