import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Contender, interleave, probeWhile, Sample, summarize } from './load';
import type { BenchProcess } from './processes';

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

  describe('probeWhile', () => {
    let server: Server;
    let target: BenchProcess;
    const arrivals: number[] = [];

    beforeAll(async () => {
      server = createServer((_request, response) => {
        arrivals.push(Date.now());
        response.end('ok');
      });
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      const { port } = server.address() as AddressInfo;
      target = { url: `http://127.0.0.1:${port}` } as BenchProcess;
    });
    afterAll(() => new Promise((resolve) => server.close(resolve)));

    it('probes while the work runs, and answers the work’s outcome', async () => {
      arrivals.length = 0;
      let during = 0;
      const { sample, outcome } = await probeWhile(target, '/live', 50, 30, async () => {
        const before = arrivals.length;
        await new Promise((resolve) => setTimeout(resolve, 600));
        during = arrivals.length - before;
        return 'imported';
      });
      expect(outcome).toBe('imported');
      // 50 a second for 0.6 s
      expect(during).toBeGreaterThan(10);
      // the request in flight when the prober stopped reached the server, not the count
      expect(sample.requests).toBeGreaterThanOrEqual(arrivals.length - 1);
      expect(sample.requests).toBeLessThanOrEqual(arrivals.length);
      expect(sample.failures).toBe(0);
    }, 30_000);

    it('rejects with the work’s error and stops probing', async () => {
      await expect(
        probeWhile(target, '/live', 50, 30, () => Promise.reject(new Error('import failed'))),
      ).rejects.toThrow('import failed');
      const count = arrivals.length;
      await new Promise((resolve) => setTimeout(resolve, 300));
      // the prober is gone: nothing arrives any more
      expect(arrivals.length).toBe(count);
    }, 30_000);
  });
});
