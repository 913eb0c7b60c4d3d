import { FULL_OPTIONS, QUICK_OPTIONS } from './context';
import { parseOptions } from './main';

describe('bench main', () => {
  describe('parseOptions', () => {
    it('runs every scenario with the full settings by default', () => {
      const options = parseOptions([]);
      expect(options).toMatchObject({ rounds: 3, measureS: 5, seed: FULL_OPTIONS.seed });
      expect([...options.only]).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9]);
      expect(options.outDir).toMatch(/\/reports$/);
    });

    it('shrinks everything with --quick and keeps the whole run bounded', () => {
      const options = parseOptions(['--quick']);
      expect(options).toMatchObject({ quick: true, rounds: 1, seed: QUICK_OPTIONS.seed });
      expect(options.deadlineS).toBeLessThan(FULL_OPTIONS.deadlineS);
    });

    it('takes a subset of scenarios, rounds and seconds', () => {
      const options = parseOptions(['--only', '1,3', '--rounds', '5', '--seconds', '2']);
      expect([...options.only]).toEqual([1, 3]);
      expect(options).toMatchObject({ rounds: 5, measureS: 2 });
    });

    it('refuses unknown scenarios and nonsense numbers with the usage line', () => {
      expect(() => parseOptions(['--only', '10'])).toThrow(/usage: npm run bench/);
      expect(() => parseOptions(['--rounds', '0'])).toThrow(/usage/);
      expect(() => parseOptions(['--seconds', '1.5'])).toThrow(/usage/);
      expect(() => parseOptions(['--bogus'])).toThrow();
    });
  });
});
