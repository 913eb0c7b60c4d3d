import { costOf, FEATURE_SWITCHES } from './overhead';

describe('bench overhead scenario', () => {
  describe('costOf', () => {
    it('turns "faster without it" into the share of throughput the feature costs', () => {
      expect(costOf(1.25)).toBe('the feature costs ≈ 20.0 % of req/s');
    });

    it('does not report a negative cost when the difference is noise', () => {
      expect(costOf(0.97)).toBe('no measurable cost (off was not faster)');
      expect(costOf(NaN)).toBe('cost not measured');
    });
  });

  describe('FEATURE_SWITCHES', () => {
    it('covers logging, metrics, the limiter and compression, one variable each', () => {
      expect(FEATURE_SWITCHES.map((s) => s.feature)).toEqual([
        'requestLogs',
        'metrics',
        'limiter',
        'compression',
      ]);
      expect(new Set(FEATURE_SWITCHES.map((s) => s.variable)).size).toBe(4);
    });
  });
});
