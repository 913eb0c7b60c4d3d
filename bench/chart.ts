import type { TopLevelSpec } from 'vega-lite/build/index';
import type { ChartPoint } from './report';
import { formatNumber } from './stats';

/**
 * One small bar chart per panel (a scenario and its unit), two panels a row, each with its own
 * scale: req/s, milliseconds and megabytes never share an axis.
 */
export function buildChartSpec(points: readonly ChartPoint[], subtitle: string): TopLevelSpec {
  const panels = [...new Set(points.map((point) => point.panel))];
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: { text: 'loadstar benchmarks', subtitle, anchor: 'start', fontSize: 16 },
    background: 'white',
    padding: 12,
    data: {
      values: points.map((point) => ({ ...point, label: formatNumber(point.value) })),
    },
    facet: {
      field: 'panel',
      type: 'nominal',
      sort: panels,
      title: null,
      header: { labelFontSize: 12, labelFontWeight: 'bold', labelAnchor: 'start', labelLimit: 0 },
    },
    columns: 2,
    spec: {
      width: 300,
      height: { step: 20 },
      encoding: {
        y: {
          field: 'variant',
          type: 'nominal',
          sort: null,
          title: null,
          axis: { labelLimit: 230 },
        },
        x: { field: 'value', type: 'quantitative', title: null, axis: { tickCount: 4 } },
      },
      layer: [
        {
          mark: { type: 'bar', color: '#4c78a8' },
        },
        {
          mark: { type: 'text', align: 'left', dx: 3, fontSize: 10 },
          encoding: { text: { field: 'label', type: 'nominal' } },
        },
      ],
    },
    resolve: { scale: { x: 'independent', y: 'independent' } },
    config: { font: 'DejaVu Sans', view: { stroke: null } },
  };
}

/**
 * vega and vega-lite are ESM-only with top-level await, which `require` cannot load; the
 * bench is CommonJS, whose compiled `import()` would become a `require`.
 */
const importEsm = new Function('specifier', 'return import(specifier)') as <T>(
  specifier: string,
) => Promise<T>;

/** vega-lite → vega → SVG in a headless view → PNG with resvg. No browser involved. */
export async function renderChartPng(spec: TopLevelSpec): Promise<Buffer> {
  const vegaLite = await importEsm<typeof import('vega-lite/build/index')>('vega-lite');
  const vega = await importEsm<typeof import('vega')>('vega');
  // Independent scales in a faceted layer make vega-lite warn about a case that is fine here.
  const compiled = vegaLite.compile(spec, { logger: vega.logger(vega.Error) });
  const view = new vega.View(vega.parse(compiled.spec), { renderer: 'none' });
  const svg = await view.toSVG(2);
  view.finalize();
  const { Resvg } = await import('@resvg/resvg-js');
  const png = new Resvg(svg, {
    background: 'white',
    font: { loadSystemFonts: true, defaultFontFamily: 'DejaVu Sans' },
  }).render();
  return png.asPng();
}
