import { MemoryThrottlerStorage } from './throttler-memory.storage';

describe(MemoryThrottlerStorage.name, () => {
  let storage: MemoryThrottlerStorage;

  beforeEach(() => {
    storage = new MemoryThrottlerStorage();
  });
  afterEach(() => storage.onApplicationShutdown());

  describe('#hit', () => {
    it('counts hits in a window that starts with the first one', () => {
      expect(storage.hit('k', 10_000, 2, 1_000)).toEqual({
        totalHits: 1,
        timeToExpire: 10,
        isBlocked: false,
        timeToBlockExpire: 0,
      });
      expect(storage.hit('k', 10_000, 2, 5_000).totalHits).toBe(2);
      expect(storage.hit('k', 10_000, 2, 8_500)).toEqual({
        totalHits: 3,
        timeToExpire: 3,
        isBlocked: true,
        timeToBlockExpire: 3,
      });
    });

    it('starts a new window once the old one has ended', () => {
      storage.hit('k', 1_000, 1, 0);
      expect(storage.hit('k', 1_000, 1, 999).isBlocked).toBe(true);
      expect(storage.hit('k', 1_000, 1, 1_000)).toMatchObject({ totalHits: 1, isBlocked: false });
    });

    it('keeps keys apart', () => {
      storage.hit('a', 1_000, 1, 0);
      expect(storage.hit('b', 1_000, 1, 0).totalHits).toBe(1);
    });

    it('never reports 0 seconds to wait while the window is open', () => {
      storage.hit('k', 1_000, 0, 0);
      expect(storage.hit('k', 1_000, 0, 999).timeToExpire).toBe(1);
    });
  });

  describe('#increment', () => {
    it('resolves with the hit of now', async () => {
      await storage.increment('k', 60_000, 5);
      expect((await storage.increment('k', 60_000, 5)).totalHits).toBe(2);
    });
  });

  describe('#take', () => {
    it('takes one hit back from the open window, never below 0', () => {
      storage.hit('k', 10_000, 5, 0);
      storage.hit('k', 10_000, 5, 0);
      storage.take('k', 1_000);
      expect(storage.hit('k', 10_000, 5, 2_000).totalHits).toBe(2);
      storage.take('k', 3_000);
      storage.take('k', 3_000);
      storage.take('k', 3_000);
      expect(storage.hit('k', 10_000, 5, 4_000).totalHits).toBe(1);
    });

    it('leaves an ended window alone and ignores unknown keys', () => {
      storage.hit('k', 1_000, 5, 0);
      storage.take('k', 1_000);
      storage.take('unknown', 0);
      expect(storage.size).toBe(1);
      expect(storage.hit('k', 1_000, 5, 1_000).totalHits).toBe(1);
    });
  });

  describe('#reset', () => {
    it('ends the window: the next hit counts from 1 in a new one', async () => {
      storage.hit('k', 60_000, 1, 0);
      storage.hit('k', 60_000, 1, 0);
      await storage.reset('k');
      expect(storage.hit('k', 60_000, 1, 30_000)).toMatchObject({
        totalHits: 1,
        isBlocked: false,
        timeToExpire: 60,
      });
    });
  });

  describe('#sweep', () => {
    it('drops ended windows only', () => {
      storage.hit('short', 1_000, 1, 0);
      storage.hit('long', 60_000, 1, 0);
      storage.sweep(1_000);
      expect(storage.size).toBe(1);
      expect(storage.hit('long', 60_000, 1, 1_000).totalHits).toBe(2);
    });
  });
});
