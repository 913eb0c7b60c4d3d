import { buildChartSpec } from './chart';

describe('bench chart', () => {
  describe('buildChartSpec', () => {
    const spec = buildChartSpec(
      [
        { panel: 'b · second', variant: 'x', value: 1234.5 },
        { panel: 'a · first', variant: 'y', value: 2 },
        { panel: 'b · second', variant: 'z', value: 3 },
      ],
      'subtitle',
    ) as unknown as Record<string, any>;

    it('keeps the panels in the order the scenarios reported them', () => {
      expect(spec.facet.sort).toEqual(['b · second', 'a · first']);
    });

    it('gives every panel its own scales, since units differ', () => {
      expect(spec.resolve).toEqual({ scale: { x: 'independent', y: 'independent' } });
    });

    it('labels each bar with its formatted value', () => {
      expect(spec.data.values[0]).toEqual({
        panel: 'b · second',
        variant: 'x',
        value: 1234.5,
        label: '1\u2009235',
      });
    });
  });
});
