import { getStorageToken } from '@nestjs/throttler';
import { eventually, sleep } from '../utils/net';
import { PrivateRedis } from '../utils/private-redis';
import { startTestApp, TestApp } from '../utils/test-app';

/** The storage's own operations, beside `increment` (not exported by the lib). */
interface Storage {
  increment(
    key: string,
    ttlMs: number,
    limit: number,
    block: number,
    tier: string,
  ): Promise<{ totalHits: number; isBlocked: boolean; timeToExpire: number }>;
  refund(key: string, tier: string): Promise<void>;
  reset(key: string, tier: string): Promise<void>;
}

describe('rate-limit storage in Redis: refunds and resets (e2e, a redis-server of its own)', () => {
  let redis: PrivateRedis;
  let t: TestApp;
  let storage: Storage;

  beforeAll(async () => {
    redis = await PrivateRedis.start();
    t = await startTestApp({ REDIS_URL: redis.url });
    storage = t.app.get<Storage>(getStorageToken(), { strict: false });
  });
  afterAll(async () => {
    await t?.close();
    await redis?.kill();
  });

  it('hits, refunds and resets of one event-loop turn share one script call', async () => {
    await Promise.all([
      storage.increment('r1', 60_000, 9, 0, 'auth'),
      storage.increment('r2', 60_000, 9, 0, 'auth'),
    ]);
    await storage.increment('r2', 60_000, 9, 0, 'auth');
    const before = await redis.calls('evalsha');
    const [hit] = await Promise.all([
      storage.increment('r3', 60_000, 9, 0, 'auth'),
      storage.refund('r1', 'auth'),
      storage.reset('r2', 'auth'),
    ]);
    expect(await redis.calls('evalsha')).toBe(before + 1);
    expect(hit.totalHits).toBe(1);
    expect(await redis.command((client) => client.get('r1'))).toBe('0');
    expect(await redis.command((client) => client.exists('r2'))).toBe(0);
  });

  it('a reset ends the window: the next hit counts from 1 with a whole window', async () => {
    for (let i = 0; i < 3; i++) await storage.increment('w', 60_000, 2, 0, 'auth');
    await storage.reset('w', 'auth');
    const next = await storage.increment('w', 60_000, 2, 0, 'auth');
    expect(next).toMatchObject({ totalHits: 1, isBlocked: false, timeToExpire: 60 });
  });

  it('a refund never goes below 0 and leaves an ended window alone', async () => {
    await storage.increment('floor', 60_000, 5, 0, 'auth');
    await Promise.all([storage.refund('floor', 'auth'), storage.refund('floor', 'auth')]);
    expect(await redis.command((client) => client.get('floor'))).toBe('0');
    await storage.increment('ended', 100, 5, 0, 'auth');
    await sleep(200);
    await storage.refund('ended', 'auth');
    expect(await redis.command((client) => client.exists('ended'))).toBe(0);
  });

  describe('a tier with a lease share (default: 1 % of the limit)', () => {
    const hit = (target: Storage, key: string, limit = 1_000, ttlMs = 60_000) =>
      target.increment(key, ttlMs, limit, 0, 'default');
    const stored = (key: string) => redis.command((client) => client.get(key));

    it('takes a block ahead with the first hit and spends it without a round trip, in order', async () => {
      expect((await hit(storage, 'lease')).totalHits).toBe(1);
      expect(await stored('lease')).toBe('11');
      const calls = await redis.calls('evalsha');
      const counts: number[] = [];
      for (let i = 0; i < 4; i++) counts.push((await hit(storage, 'lease')).totalHits);
      expect(await redis.calls('evalsha')).toBe(calls);
      // half a block left after this one: it takes another block, and the counts go on from it
      counts.push((await hit(storage, 'lease')).totalHits);
      await eventually(async () => (await stored('lease')) === '21', 2_000);
      for (let i = 0; i < 9; i++) counts.push((await hit(storage, 'lease')).totalHits);
      expect(counts).toEqual([2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15]);
      expect(await stored('lease')).toBe('21');
      expect(await redis.calls('evalsha')).toBe(calls + 1);
    });

    it('a block is spent only in its window, and a reset drops it', async () => {
      await hit(storage, 'lease-window', 1_000, 300);
      await sleep(400);
      expect((await hit(storage, 'lease-window', 1_000, 300)).totalHits).toBe(1);
      await hit(storage, 'lease-reset');
      await storage.reset('lease-reset', 'default');
      expect((await hit(storage, 'lease-reset')).totalHits).toBe(1);
    });

    it('two processes never admit more than the limit, and lose at most two blocks each', async () => {
      const other = await startTestApp({ REDIS_URL: redis.url });
      try {
        const second = other.app.get<Storage>(getStorageToken(), { strict: false });
        let admitted = 0;
        for (let round = 0; round < 14; round++) {
          const records = await Promise.all(
            Array.from({ length: 100 }, (_, i) => hit(i % 2 ? second : storage, 'lease-shared')),
          );
          admitted += records.filter((record) => !record.isBlocked).length;
        }
        expect(admitted).toBeLessThanOrEqual(1_000);
        expect(admitted).toBeGreaterThanOrEqual(1_000 - 2 * 2 * 10);
      } finally {
        await other.close();
      }
    });
  });

  it('Redis gone: local tiers count in this process, the others fail', async () => {
    await redis.kill();
    const counts: number[] = [];
    for (let i = 0; i < 3; i++) {
      counts.push((await storage.increment('local', 60_000, 2, 0, 'auth')).totalHits);
    }
    expect(counts).toEqual([1, 2, 3]);
    await storage.refund('local', 'auth');
    expect((await storage.increment('local', 60_000, 2, 0, 'auth')).totalHits).toBe(3);
    await storage.reset('local', 'auth');
    expect((await storage.increment('local', 60_000, 2, 0, 'auth')).totalHits).toBe(1);
    await expect(storage.increment('shared', 60_000, 2, 0, 'default')).rejects.toThrow();
  });
});
