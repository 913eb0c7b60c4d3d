import { Contender, interleave, Sample, summarize } from './load';

const sample = (reqPerSec: number, extra: Partial<Sample> = {}): Sample => ({
  reqPerSec,
  p50Ms: reqPerSec / 10,
  p99Ms: reqPerSec / 5,
  failures: 0,
  requests: reqPerSec,
  peakRssMb: 100,
  ...extra,
});

describe('bench load', () => {
  describe('interleave', () => {
    it('warms every contender up once, then runs them in turn, round after round', async () => {
      const calls: string[] = [];
      const contender = (name: string): Contender<string> => ({
        name,
        warmUp: async () => calls.push(`warm ${name}`),
        measure: async (round) => {
          calls.push(`${name}${round}`);
          return `${name}${round}`;
        },
      });
      const results = await interleave([contender('A'), contender('B')], 3);
      expect(calls).toEqual(['warm A', 'warm B', 'A0', 'B0', 'A1', 'B1', 'A2', 'B2']);
      expect(results.get('A')).toEqual(['A0', 'A1', 'A2']);
      expect(results.get('B')).toEqual(['B0', 'B1', 'B2']);
    });

    it('leaves a contender limited to fewer rounds out of the later ones', async () => {
      const calls: string[] = [];
      const contender = (name: string, rounds?: number): Contender<string> => ({
        name,
        rounds,
        measure: async (round) => {
          calls.push(`${name}${round}`);
          return `${name}${round}`;
        },
      });
      const results = await interleave([contender('A'), contender('B', 1)], 3);
      expect(calls).toEqual(['A0', 'B0', 'A1', 'A2']);
      expect(results.get('B')).toEqual(['B0']);
    });
  });

  describe('summarize', () => {
    it('takes medians of rates and latencies, sums failures and keeps the highest RSS', () => {
      const summary = summarize([
        sample(100, { failures: 1, peakRssMb: 90 }),
        sample(300, { peakRssMb: 150 }),
        sample(200, { failures: 2, peakRssMb: 120 }),
      ]);
      expect(summary).toEqual({
        reqPerSec: 200,
        p50Ms: 20,
        p99Ms: 40,
        failures: 3,
        requests: 600,
        peakRssMb: 150,
      });
    });
  });
});
