import { MemoryLruStore } from './memory-lru.store';

const stored = (value: unknown) => ({ value, expires: undefined });

describe(MemoryLruStore.name, () => {
  afterEach(() => jest.useRealTimers());

  describe('#set', () => {
    it('keeps at most maxEntries, evicting the least recently used first', async () => {
      const removed: string[] = [];
      const store = new MemoryLruStore({
        maxEntries: 2,
        maxBytes: 1_000_000,
        onRemove: (key) => removed.push(key),
      });
      store.set('a', stored('A'));
      store.set('b', stored('B'));
      expect(store.peek('a')).toEqual(stored('A'));
      store.set('c', stored('C'));
      expect(store.peek('b')).toBeUndefined();
      expect(store.peek('a')).toEqual(stored('A'));
      expect(store.peek('c')).toEqual(stored('C'));
      expect(removed).toEqual(['b']);
      expect(store.size).toBe(2);
    });

    it('keeps at most maxBytes, counting a cached body by its length', async () => {
      const store = new MemoryLruStore({ maxEntries: 100, maxBytes: 3_000 });
      for (const key of ['a', 'b', 'c']) {
        store.set(key, stored({ body: 'x'.repeat(1_000), etag: 'W/"1"' }));
      }
      expect(store.byteSize).toBeLessThanOrEqual(3_000);
      expect(store.peek('a')).toBeUndefined();
      expect(store.peek('c')).toBeDefined();
    });

    it('refuses a value larger than the whole store without evicting the rest', async () => {
      const store = new MemoryLruStore({ maxEntries: 10, maxBytes: 500 });
      store.set('small', stored('s'));
      store.set('huge', stored('h'.repeat(1_000)));
      expect(store.peek('huge')).toBeUndefined();
      expect(store.peek('small')).toEqual(stored('s'));
    });

    it('replaces a key without counting it twice', async () => {
      const store = new MemoryLruStore({ maxEntries: 10, maxBytes: 100_000 });
      store.set('a', stored('x'.repeat(100)));
      const bytes = store.byteSize;
      store.set('a', stored('y'.repeat(100)));
      expect(store.byteSize).toBe(bytes);
      expect(store.size).toBe(1);
    });
  });

  describe('#peek', () => {
    it('forgets an entry once its TTL has passed', async () => {
      jest.useFakeTimers({ now: 1_000_000 });
      const store = new MemoryLruStore({ maxEntries: 10, maxBytes: 100_000 });
      store.set('a', stored('A'), 1_000);
      jest.setSystemTime(1_000_999);
      expect(store.peek('a')).toEqual(stored('A'));
      jest.setSystemTime(1_001_000);
      expect(store.peek('a')).toBeUndefined();
      expect(store.size).toBe(0);
    });

    it('caps every lifetime at maxTtlMs (the L1 in front of Redis)', async () => {
      jest.useFakeTimers({ now: 1_000_000 });
      const store = new MemoryLruStore({ maxEntries: 10, maxBytes: 100_000, maxTtlMs: 500 });
      store.set('long', stored('L'), 60_000);
      store.set('forever', stored('F'));
      jest.setSystemTime(1_000_500);
      expect(store.peek('long')).toBeUndefined();
      expect(store.peek('forever')).toBeUndefined();
    });
  });

  describe('#drop', () => {
    it('removes synchronously and reports the removal', () => {
      const removed: string[] = [];
      const store = new MemoryLruStore({
        maxEntries: 10,
        maxBytes: 100_000,
        onRemove: (key) => removed.push(key),
      });
      store.set('a', stored('A'));
      store.set('b', stored('B'));
      expect(store.drop('a')).toBe(true);
      expect(store.drop('a')).toBe(false);
      store.clear();
      expect(removed).toEqual(['a', 'b']);
      expect(store.byteSize).toBe(0);
    });
  });
});
