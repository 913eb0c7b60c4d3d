import type { BenchProcess } from '../processes';
import {
  costOf,
  FEATURE_SWITCHES,
  TRACING_VARIANTS,
  tracingCostPercent,
  tracingEnv,
} from './overhead';

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
    it('covers logging, metrics, the limiter and compression, one way off each', () => {
      expect(FEATURE_SWITCHES.map((s) => s.feature)).toEqual([
        'requestLogs',
        'metrics',
        'limiter',
        'compression',
      ]);
      const ways = FEATURE_SWITCHES.map(({ off }) =>
        'variable' in off ? off.variable : off.header,
      );
      expect(new Set(ways).size).toBe(4);
    });

    it('turns compression off per request, with the header the app honours', () => {
      const compression = FEATURE_SWITCHES.find((s) => s.feature === 'compression')!;
      expect(compression.off).toEqual({ header: 'x-no-compression', value: '1' });
    });
  });

  describe('tracing rows', () => {
    it('sample 10 % and 100 % of the traces with the parent-based ratio sampler, to the sink', () => {
      const sink = { url: 'http://127.0.0.1:4999' } as BenchProcess;
      expect(TRACING_VARIANTS.map((v) => tracingEnv(sink, v.samplerArg))).toEqual([
        {
          OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:4999',
          OTEL_TRACES_SAMPLER: 'parentbased_traceidratio',
          OTEL_TRACES_SAMPLER_ARG: '0.1',
        },
        {
          OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:4999',
          OTEL_TRACES_SAMPLER: 'parentbased_traceidratio',
          OTEL_TRACES_SAMPLER_ARG: '1',
        },
      ]);
    });

    it('reads "on over off" as the share of req/s tracing costs, never negative', () => {
      expect(tracingCostPercent(0.95)).toBeCloseTo(5);
      expect(tracingCostPercent(1.02)).toBe(0);
      expect(tracingCostPercent(NaN)).toBeNaN();
    });
  });
});
