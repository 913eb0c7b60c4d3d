import { cacheTally } from './cache.metrics';
import { CacheService } from './cache.service';

/**
 * A load that has read `value` (as a query would, before a concurrent write committed) and
 * answers only once `finish()` is called: a slow fill, interleaved deterministically.
 */
function heldLoad<T>(value: T) {
  let finish!: () => void;
  const finished = new Promise<void>((resolve) => (finish = resolve));
  const load = jest.fn(async () => {
    await finished;
    return value;
  });
  return { load, finish };
}

/** A loader that counts its calls and answers after a tick, like a database. */
function loader<T>(value: T) {
  const load = jest.fn(async () => {
    await new Promise((resolve) => setImmediate(resolve));
    return value;
  });
  return load;
}

describe(CacheService.name, () => {
  let cache: CacheService;

  beforeEach(() => {
    cache = new CacheService({ defaultTtlMs: 60_000 });
  });
  afterEach(() => jest.useRealTimers());

  describe('#wrap', () => {
    it('loads a cold key once for 200 concurrent readers', async () => {
      const load = loader({ id: 1 });
      const reads = await Promise.all(
        Array.from({ length: 200 }, () => cache.wrap('user:1', load)),
      );
      expect(load).toHaveBeenCalledTimes(1);
      expect(reads.filter((read) => read.status === 'miss')).toHaveLength(1);
      expect(reads.every((read) => read.value.id === 1)).toBe(true);
    });

    it('serves from the cache until the TTL passes, then loads again', async () => {
      jest.useFakeTimers({ now: 1_000_000, doNotFake: ['setImmediate', 'nextTick'] });
      const load = loader('v');
      expect((await cache.wrap('k:1', load, { ttl: 1_000 })).status).toBe('miss');
      expect((await cache.wrap('k:1', load, { ttl: 1_000 })).status).toBe('hit');
      expect(cache.peek('k:1')).toBe('v');
      jest.setSystemTime(1_001_001);
      expect(cache.peek('k:1')).toBeUndefined();
      expect((await cache.wrap('k:1', load, { ttl: 1_000 })).status).toBe('miss');
      expect(load).toHaveBeenCalledTimes(2);
    });

    it('serves a value near expiry as stale while one background load refreshes it', async () => {
      jest.useFakeTimers({ now: 1_000_000, doNotFake: ['setImmediate', 'nextTick'] });
      let version = 1;
      const load = jest.fn(async () => version);
      const options = { ttl: 10_000, refreshThreshold: 3_000 };
      await cache.wrap('k:2', load, options);
      jest.setSystemTime(1_008_000);
      version = 2;
      expect(cache.peek('k:2', options)).toBeUndefined();
      const read = await cache.wrap('k:2', load, options);
      expect(read).toEqual({ value: 1, status: 'stale', tier: 'memory' });
      await new Promise((resolve) => setImmediate(resolve));
      expect(cache.peek('k:2', options)).toBe(2);
      expect(load).toHaveBeenCalledTimes(2);
    });

    it('caches no failure: the next read loads again', async () => {
      const load = jest.fn().mockRejectedValueOnce(new Error('gone')).mockResolvedValue('ok');
      await expect(cache.wrap('k:3', load)).rejects.toThrow('gone');
      expect((await cache.wrap('k:3', load)).value).toBe('ok');
    });

    it('counts hits and misses per cache', async () => {
      const tally = cacheTally('counted');
      const before = { ...tally };
      await cache.wrap('counted:1', loader(1));
      await cache.wrap('counted:1', loader(1));
      cache.peek('counted:1');
      expect(tally.miss - before.miss).toBe(1);
      expect(tally.hit - before.hit).toBe(2);
    });
  });

  describe('#wrap racing writes', () => {
    it('does not store what a fill loaded before a concurrent write-through', async () => {
      const slow = heldLoad('old');
      const read = cache.wrap('race:1', slow.load);
      await cache.set('race:1', 'new');
      slow.finish();
      expect(await read).toEqual({ value: 'old', status: 'miss', tier: 'origin' });
      expect(cache.peek('race:1')).toBe('new');
    });

    it('does not store what a fill loaded before a concurrent eviction', async () => {
      const slow = heldLoad('old');
      const read = cache.wrap('race:2', slow.load);
      await cache.evict(['race:2']);
      const readAfterEviction = cache.wrap('race:2', loader('new'));
      slow.finish();
      expect((await read).value).toBe('old');
      expect((await readAfterEviction).value).toBe('new');
      expect(cache.peek('race:2')).toBe('new');
    });

    it('does not store what a fill loaded before one of its tags was evicted', async () => {
      const slow = heldLoad({ shows: [7] });
      const tags = (value: { shows: number[] }) => value.shows.map((id) => `user:${id}`);
      const read = cache.wrap('race:3', slow.load, { tags });
      await cache.evictTags(['user:7']);
      slow.finish();
      expect((await read).value).toEqual({ shows: [7] });
      expect(cache.peek('race:3')).toBeUndefined();
    });

    it('does not store what a batch loaded before a concurrent write-through', async () => {
      const slow = heldLoad(
        new Map([
          ['race:4', 'old'],
          ['race:5', 'old'],
        ]),
      );
      const read = cache.wrapMany(['race:4', 'race:5'], slow.load);
      await cache.set('race:4', 'new');
      slow.finish();
      expect(await read).toEqual(['old', 'old']);
      expect(cache.peek('race:4')).toBe('new');
      expect(cache.peek('race:5')).toBe('old');
    });

    it('does not store a background refresh loaded before a concurrent write-through', async () => {
      jest.useFakeTimers({ now: 1_000_000, doNotFake: ['setImmediate', 'nextTick'] });
      const options = { ttl: 10_000, refreshThreshold: 3_000 };
      await cache.wrap('race:6', async () => 'first', options);
      jest.setSystemTime(1_008_000);
      const slow = heldLoad('old');
      expect(await cache.wrap('race:6', slow.load, options)).toEqual({
        value: 'first',
        status: 'stale',
        tier: 'memory',
      });
      await cache.set('race:6', 'new', 10_000);
      slow.finish();
      await new Promise((resolve) => setImmediate(resolve));
      expect(slow.load).toHaveBeenCalledTimes(1);
      expect(cache.peek('race:6')).toBe('new');
    });
  });

  describe('#wrapMany', () => {
    it('loads every missing key in one call and answers in the order asked', async () => {
      await cache.set('u:2', 'two');
      const loadMissing = jest.fn(async (missing: string[]) => {
        return new Map(missing.filter((key) => key !== 'u:9').map((key) => [key, key]));
      });
      const values = await cache.wrapMany(['u:1', 'u:2', 'u:9', 'u:1'], loadMissing);
      expect(values).toEqual(['u:1', 'two', undefined, 'u:1']);
      expect(loadMissing).toHaveBeenCalledTimes(1);
      expect(loadMissing).toHaveBeenCalledWith(['u:1', 'u:9']);
      expect(cache.peek('u:1')).toBe('u:1');
    });
  });

  describe('#set', () => {
    it('writes through: the next read returns the new value without loading', async () => {
      const load = loader('old');
      await cache.wrap('k:4', load);
      await cache.set('k:4', 'new');
      expect((await cache.wrap('k:4', load)).value).toBe('new');
      expect(load).toHaveBeenCalledTimes(1);
    });
  });

  describe('#evict', () => {
    it('removes keys, so the next read loads', async () => {
      const load = loader('v');
      await cache.wrap('k:5', load);
      await cache.evict(['k:5']);
      expect(cache.peek('k:5')).toBeUndefined();
      expect((await cache.wrap('k:5', load)).status).toBe('miss');
    });
  });

  describe('#evictTags', () => {
    it('removes every entry tagged with a tag, and only those', async () => {
      const tags = (value: { shows: number[] }) => value.shows.map((id) => `user:${id}`);
      await cache.wrap('dashboard:1', async () => ({ shows: [1, 2] }), { tags });
      await cache.wrap('dashboard:3', async () => ({ shows: [3] }), { tags });
      await cache.evictTags(['user:2']);
      expect(cache.peek('dashboard:1')).toBeUndefined();
      expect(cache.peek('dashboard:3')).toEqual({ shows: [3] });
    });
  });

  describe('#health', () => {
    it('reports the in-process store without Redis', () => {
      expect(cache.health()).toEqual({ store: 'memory', degraded: false });
    });
  });

  describe('switched off (enabled: false)', () => {
    // A Redis URL nobody listens on: switched off, the cache must not even try it.
    const off = () =>
      new CacheService({
        enabled: false,
        redisConnection: { url: 'redis://127.0.0.1:1' },
        defaultTtlMs: 60_000,
      });

    it('loads every read and stores nothing, whatever was written', async () => {
      const cache = off();
      const load = loader('v');
      await cache.set('k:1', 'written');
      expect((await cache.wrap('k:1', load)).status).toBe('miss');
      expect(await cache.wrap('k:1', load)).toEqual({ value: 'v', status: 'miss', tier: 'origin' });
      expect(load).toHaveBeenCalledTimes(2);
      expect(cache.peek('k:1')).toBeUndefined();
      expect(cache.localSize()).toEqual({ entries: 0, bytes: 0 });
    });

    it('counts each read as a miss', async () => {
      const cache = off();
      const before = { ...cacheTally('off-count') };
      await cache.wrap('off-count:1', loader(1));
      await cache.wrapMany(
        ['off-count:1', 'off-count:2'],
        async (keys) => new Map(keys.map((key) => [key, key])),
      );
      expect(cacheTally('off-count').miss - before.miss).toBe(3);
      expect(cacheTally('off-count').hit - before.hit).toBe(0);
    });

    it('loads every key of a multi-get, in order, once per distinct key', async () => {
      const cache = off();
      const loadMissing = jest.fn(
        async (keys: string[]) => new Map(keys.map((key) => [key, `v-${key}`])),
      );
      const values = await cache.wrapMany(['a:2', 'a:1', 'a:2'], loadMissing);
      expect(values).toEqual(['v-a:2', 'v-a:1', 'v-a:2']);
      expect(loadMissing).toHaveBeenCalledWith(['a:2', 'a:1']);
    });

    it('reports itself off, never degraded', async () => {
      const cache = off();
      await cache.onModuleInit();
      expect(cache.health()).toEqual({ store: 'off', degraded: false });
      cache.onApplicationShutdown();
    });
  });
});
