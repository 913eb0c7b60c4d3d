import calculateSlot from 'cluster-key-slot';
import { fenceKeyOf, lockKeyOf, tagKeysOf, valueKeyOf, writesKeyOf } from './cache-keys';
import { hashTagForSlot } from './hash-slots';

describe('cache keys on Redis Cluster', () => {
  describe('#valueKeyOf, #lockKeyOf, #fenceKeyOf', () => {
    it.each(['user:42', 'dashboard:7', 'nest:rate:EUR', 'odd:{x}:y', 'odd:}{'])(
      'puts the value, lock and fence of %s in one slot, the slot of the key in braces',
      (key) => {
        const slots = [valueKeyOf(key), lockKeyOf(key), fenceKeyOf(key)].map(calculateSlot);
        expect(new Set(slots).size).toBe(1);
        expect(slots[0]).toBe(calculateSlot(`{${key}}`));
      },
    );

    it('spreads different keys over different slots', () => {
      const slots = new Set(
        Array.from({ length: 100 }, (_, id) => calculateSlot(valueKeyOf(`user:${id}`))),
      );
      expect(slots.size).toBeGreaterThan(90);
    });
  });

  describe('#tagKeysOf', () => {
    it("puts a tag's set and fence in the tag's slot", () => {
      const { setKey, fenceKey } = tagKeysOf('user:42');
      expect(calculateSlot(setKey)).toBe(calculateSlot(fenceKey));
      expect(calculateSlot(setKey)).toBe(calculateSlot('{user:42}'));
    });
  });

  describe('#writesKeyOf', () => {
    it('names one counter per slot, in that slot, and one without a slot', () => {
      for (const slot of [0, 1, 5_000, 16_383]) {
        expect(calculateSlot(writesKeyOf(slot, hashTagForSlot))).toBe(slot);
      }
      expect(writesKeyOf(undefined, hashTagForSlot)).toBe('loadstar:v2:writes');
    });
  });
});
