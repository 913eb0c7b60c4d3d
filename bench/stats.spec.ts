import {
  checkTarget,
  describeTarget,
  formatNumber,
  formatRatio,
  markdownTable,
  median,
  pairedRatio,
} from './stats';

describe('bench stats', () => {
  describe('median', () => {
    it('takes the middle value of an odd count, whatever the order', () => {
      expect(median([9, 1, 5])).toBe(5);
    });

    it('averages the two middle values of an even count', () => {
      expect(median([4, 1, 3, 2])).toBe(2.5);
    });

    it('ignores values that are not finite, and is NaN when nothing is left', () => {
      expect(median([NaN, 7, Infinity])).toBe(7);
      expect(median([])).toBeNaN();
      expect(median([NaN])).toBeNaN();
    });
  });

  describe('pairedRatio', () => {
    it('is the median of the per-round ratios, not the ratio of the medians', () => {
      // per round: 10/5, 30/10, 40/40 → ratios 2, 3, 1
      expect(pairedRatio([10, 30, 40], [5, 10, 40])).toBe(2);
      expect(median([10, 30, 40]) / median([5, 10, 40])).toBe(3);
    });

    it('skips rounds whose reference is zero and stops at the shorter list', () => {
      expect(pairedRatio([10, 20, 30], [0, 10])).toBe(2);
      expect(pairedRatio([], [])).toBeNaN();
    });
  });

  describe('checkTarget', () => {
    it('meets a floor at or above it and says by how much one is missed', () => {
      const floor = { kind: 'at least', value: 0.5, unit: '×' } as const;
      expect(checkTarget(floor, 0.5)).toEqual({ met: true, verdict: 'met' });
      expect(checkTarget(floor, 0.4)).toEqual({ met: false, verdict: 'missed by 20 %' });
      expect(checkTarget(floor, 0.48)).toEqual({ met: false, verdict: 'missed by 4.0 %' });
    });

    it('treats "at most" as inclusive and "below" as strict', () => {
      expect(checkTarget({ kind: 'at most', value: 1, unit: '' }, 1).met).toBe(true);
      expect(checkTarget({ kind: 'at most', value: 1, unit: '' }, 2)).toEqual({
        met: false,
        verdict: 'missed by 100 %',
      });
      expect(checkTarget({ kind: 'below', value: 20, unit: ' ms' }, 20).met).toBe(false);
      expect(checkTarget({ kind: 'below', value: 20, unit: ' ms' }, 19).met).toBe(true);
    });

    it('never counts a missing measurement as met', () => {
      expect(checkTarget({ kind: 'below', value: 64, unit: ' MB' }, NaN)).toEqual({
        met: false,
        verdict: 'not measured',
      });
    });
  });

  describe('describeTarget', () => {
    it('writes the comparison with its unit', () => {
      expect(describeTarget({ kind: 'at least', value: 10, unit: '×' })).toBe('≥ 10×');
      expect(describeTarget({ kind: 'below', value: 20, unit: ' ms' })).toBe('< 20 ms');
      expect(describeTarget({ kind: 'at most', value: 2, unit: '' })).toBe('≤ 2');
    });
  });

  describe('formatNumber', () => {
    it('keeps three significant digits at most and groups thousands', () => {
      expect(formatNumber(41_234.6)).toBe('41\u2009235');
      expect(formatNumber(1_000_000)).toBe('1\u2009000\u2009000');
      expect(formatNumber(123.4)).toBe('123');
      expect(formatNumber(12.34)).toBe('12.3');
      expect(formatNumber(1.234)).toBe('1.23');
      expect(formatNumber(0.1234)).toBe('0.123');
      expect(formatNumber(0)).toBe('0');
      expect(formatNumber(-2.5)).toBe('-2.50');
    });

    it('shows a dash for what was not measured', () => {
      expect(formatNumber(undefined)).toBe('–');
      expect(formatNumber(NaN)).toBe('–');
    });
  });

  describe('formatRatio', () => {
    it('names what the ratio is against', () => {
      expect(formatRatio(0.6234, 'raw')).toBe('0.623× raw');
      expect(formatRatio(NaN, 'raw')).toBe('– × raw');
    });
  });

  describe('markdownTable', () => {
    it('writes a header, a separator and one line per row', () => {
      expect(markdownTable(['a', 'b'], [['1', '2']])).toBe('| a | b |\n| --- | --- |\n| 1 | 2 |');
    });

    it('escapes pipes and flattens newlines so a cell cannot break the table', () => {
      expect(markdownTable(['x'], [['a|b\nc']])).toBe('| x |\n| --- |\n| a\\|b c |');
    });
  });
});
