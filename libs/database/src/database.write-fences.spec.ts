import { performance } from 'node:perf_hooks';
import { LocalWriteFences } from './database.write-fences';

describe(LocalWriteFences.name, () => {
  let now: number;

  beforeEach(() => {
    now = 1_000;
    jest.spyOn(performance, 'now').mockImplementation(() => now);
  });

  afterEach(() => jest.restoreAllMocks());

  describe('#fenceOf', () => {
    it("keeps a client's fence for the TTL after its last write, then forgets it", () => {
      const fences = new LocalWriteFences(500);
      fences.record('7', 10n);
      now += 499;
      expect(fences.fenceOf('7')).toBe(10n);
      expect(fences.fenceOf('8')).toBeUndefined();
      now += 1;
      expect(fences.fenceOf('7')).toBeUndefined();
    });

    it('keeps the greater fence when writes are noted out of order, from the last write on', () => {
      const fences = new LocalWriteFences(500);
      fences.record('7', 30n);
      now += 400;
      fences.record('7', 20n);
      now += 400;
      expect(fences.fenceOf('7')).toBe(30n);
    });
  });

  describe('#record', () => {
    it("drops expired clients' fences as later writes are noted", () => {
      const fences = new LocalWriteFences(500);
      fences.record('7', 1n);
      fences.record('8', 2n);
      now += 600;
      fences.record('9', 3n);
      const kept = (fences as unknown as { fences: Map<string, unknown> }).fences;
      expect([...kept.keys()]).toEqual(['9']);
    });
  });
});
