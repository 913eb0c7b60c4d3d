import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { startTestApp, TestApp } from '../utils/test-app';
import {
  hasPromtool,
  metricTypes,
  parseExemplars,
  parseSamples,
  promtool,
  REPLICA_METRIC,
  Sample,
  selectedMetrics,
} from '../utils/prometheus-text';

const DEPLOY = resolve(__dirname, '..', '..', 'deploy');
const HISTOGRAM = 'http_request_duration_seconds';
/** Grafana's variables, as a scrape of one job would resolve them. */
const DASHBOARD_VARIABLES: Record<string, string> = {
  $__rate_interval: '1m',
  $job: '.*',
  $instance: '.*',
  $route: '.*',
};

/** The dashboard's queries with its variables resolved. */
function dashboardQueries(): string[] {
  const dashboard = JSON.parse(readFileSync(resolve(DEPLOY, 'grafana', 'loadstar.json'), 'utf8'));
  const queries: string[] = [];
  for (const panel of dashboard.panels as { targets?: { expr: string }[] }[]) {
    for (const target of panel.targets ?? []) queries.push(target.expr);
  }
  for (const variable of dashboard.templating.list as { query: unknown }[]) {
    const query = (variable.query as { query?: string })?.query;
    const inner = query && /^label_values\((.*), \w+\)$/.exec(query)?.[1];
    if (inner) queries.push(inner);
  }
  return queries.map((query) =>
    query.replace(/\$__rate_interval|\$\w+/g, (name) => DASHBOARD_VARIABLES[name] ?? name),
  );
}

/** The family a sample name belongs to (a histogram's `_bucket`, `_sum`, `_count`). */
function familyOf(name: string, types: Map<string, string>): string | undefined {
  if (types.has(name)) return name;
  const family = name.replace(/_(bucket|sum|count)$/, '');
  return types.get(family) === 'histogram' ? family : undefined;
}

const itWithPromtool = hasPromtool() ? it : it.skip;

describe('GET /metrics (e2e)', () => {
  let t: TestApp;

  beforeAll(async () => {
    t = await startTestApp();
  });
  afterAll(() => t?.close());

  async function scrape(headers?: Record<string, string>): Promise<string> {
    const res = await t.api.get('/metrics', { headers });
    expect(res.status).toBe(200);
    return res.text;
  }

  const durationSeries = (text: string): Sample[] =>
    parseSamples(text).filter((sample) => sample.name === `${HISTOGRAM}_count`);

  it('labels requests by route template, never by raw URL; unmatched routes share one series', async () => {
    for (const path of ['/api/users/1', '/api/users/2', '/api/nope/123']) await t.api.get(path);
    const series = durationSeries(await scrape());
    const routes = series.map((sample) => sample.labels.route);
    expect(routes).toContain('/api/users/:id');
    expect(routes).toContain('(unmatched)');
    for (const raw of ['/api/users/1', '/api/users/2', '/api/nope/123', '/api/nope']) {
      expect(routes.filter((route) => route.includes(raw))).toEqual([]);
    }
    expect(series.find((sample) => sample.labels.route === '(unmatched)')?.labels).toEqual({
      method: 'GET',
      route: '(unmatched)',
      status_code: '404',
    });
  });

  it('random URLs add no series, only counts in the unmatched one', async () => {
    await t.api.get(`/api/nope/${randomUUID()}`);
    await scrape(); // the scrape's own series exists from here on
    const before = durationSeries(await scrape());
    for (let i = 0; i < 25; i++) {
      const res = await t.api.get(`/${randomUUID()}/${i}?q=${randomUUID()}`);
      expect(res.status).toBe(404);
    }
    const after = durationSeries(await scrape());
    const labelSets = (series: Sample[]) =>
      series.map((sample) => JSON.stringify(sample.labels)).sort();
    expect(labelSets(after)).toEqual(labelSets(before));
    const unmatched = (series: Sample[]) =>
      series.find(
        (sample) => sample.labels.route === '(unmatched)' && sample.labels.method === 'GET',
      )?.value ?? 0;
    expect(unmatched(after) - unmatched(before)).toBe(25);
  });

  it('exposes the metrics of docs/observability.md', async () => {
    // a cached read, so the cache counter has samples
    const user = await t.api.createUser('Metrics');
    await t.api.get(`/api/users/${user.id}`);
    await t.api.get(`/api/users/${user.id}`);
    const text = await scrape();
    const types = metricTypes(text);
    expect(Object.fromEntries(types)).toMatchObject({
      http_request_duration_seconds: 'histogram',
      nodejs_eventloop_lag_p99_seconds: 'gauge',
      nodejs_heap_size_used_bytes: 'gauge',
      nodejs_gc_duration_seconds: 'histogram',
      nodejs_active_handles: 'gauge',
      db_pool_connections: 'gauge',
      cache_operations_total: 'counter',
      rate_limit_rejections_total: 'counter',
      worker_pool_queue_size: 'gauge',
      worker_pool_utilization: 'gauge',
      worker_pool_task_duration_seconds: 'histogram',
      jobs_total: 'counter',
      job_duration_seconds: 'histogram',
      jobs_queued: 'gauge',
      jobs_oldest_queued_age_seconds: 'gauge',
    });
    const samples = parseSamples(text);
    const poolStates = samples
      .filter((sample) => sample.name === 'db_pool_connections')
      .map((sample) => sample.labels.state);
    expect(poolStates.sort()).toEqual(['idle', 'total', 'waiting']);
    expect(samples).toContainEqual(
      expect.objectContaining({
        name: 'cache_operations_total',
        labels: { cache: 'user', result: 'hit' },
      }),
    );
    // gauges named like counters are what promtool rejects
    for (const [name, type] of types) if (name.endsWith('_total')) expect(type).toBe('counter');
  });

  it.each(['gzip', 'br'])('is complete when compressed (%s)', async (encoding) => {
    const plain = await scrape();
    const res = await t.api.get('/metrics', { headers: { 'accept-encoding': encoding } });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-encoding')).toBe(encoding);
    expect(res.headers.get('cache-control')).toBe('no-store');
    expect(res.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
    expect([...metricTypes(res.text).keys()]).toEqual([...metricTypes(plain).keys()]);
    expect(metricTypes(res.text).get(HISTOGRAM)).toBe('histogram');
  });

  it('answers OpenMetrics when the scraper asks for it, without exemplars while tracing is off', async () => {
    const user = await t.api.createUser('OpenMetrics');
    await t.api.get(`/api/users/${user.id}`);
    await t.api.get(`/api/users/${user.id}`);
    const plainBefore = await scrape();
    const res = await t.api.get('/metrics', {
      headers: { accept: 'application/openmetrics-text; version=1.0.0' },
    });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe(
      'application/openmetrics-text; version=1.0.0; charset=utf-8',
    );
    expect(res.text.endsWith('\n# EOF\n')).toBe(true);
    expect(parseExemplars(res.text)).toEqual([]);
    // a counter's family is named without `_total`, its samples with it
    const types = metricTypes(res.text);
    expect(types.get('cache_operations')).toBe('counter');
    expect(types.get(HISTOGRAM)).toBe('histogram');
    expect(res.text).toMatch(/^cache_operations_total\{cache="user",result="hit"\} \d+$/m);
    // the default stays Prometheus' format, its counters still named `_total`
    const plainAfter = await scrape();
    expect([...metricTypes(plainAfter).keys()]).toEqual([...metricTypes(plainBefore).keys()]);
    expect(metricTypes(plainAfter).get('cache_operations_total')).toBe('counter');
  });

  it.each([
    ['text/plain; version=0.0.4'],
    ['application/openmetrics-text; version=1.0.0; q=0, text/plain; q=0.5'],
    ['*/*'],
  ])('answers Prometheus text to Accept: %s', async (accept) => {
    const res = await t.api.get('/metrics', { headers: { accept } });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
    expect(res.text).not.toContain('# EOF');
  });

  it('answers OpenMetrics to the Accept header Prometheus sends', async () => {
    const res = await t.api.get('/metrics', {
      headers: {
        accept:
          'application/openmetrics-text;version=1.0.0;q=0.5,application/openmetrics-text;version=0.0.1;q=0.4,text/plain;version=0.0.4;q=0.3,*/*;q=0.2',
      },
    });
    expect(res.headers.get('content-type')).toMatch(/^application\/openmetrics-text/);
  });

  it('the dashboard and the alert rules use only metrics that /metrics exposes', async () => {
    const types = metricTypes(await scrape());
    const alerts = readFileSync(resolve(DEPLOY, 'prometheus', 'alerts.yml'), 'utf8');
    const used = [...dashboardQueries(), alerts]
      .flatMap(selectedMetrics)
      .filter((name) => !REPLICA_METRIC.test(name));
    expect(used.length).toBeGreaterThan(10);
    expect(used.filter((name) => familyOf(name, types) === undefined)).toEqual([]);
  });

  itWithPromtool('promtool check metrics accepts the output', async () => {
    const result = promtool(['check', 'metrics'], await scrape());
    expect(result).toEqual({ status: 0, output: '' });
  });

  itWithPromtool(
    'promtool accepts the alert rules, their unit tests and the dashboard queries',
    () => {
      const rules = promtool(['check', 'rules', resolve(DEPLOY, 'prometheus', 'alerts.yml')]);
      expect(rules.status).toBe(0);
      const unitTests = promtool([
        'test',
        'rules',
        resolve(DEPLOY, 'prometheus', 'alerts.test.yml'),
      ]);
      expect(unitTests.output).toContain('SUCCESS');
      expect(unitTests.status).toBe(0);
      const queries = dashboardQueries().map((expr, i) => ({
        record: `dashboard:query_${i}`,
        expr,
      }));
      // JSON is YAML: every dashboard query as a recording rule, which promtool parses
      const dashboard = promtool(
        ['check', 'rules'],
        JSON.stringify({ groups: [{ name: 'dashboard', rules: queries }] }),
        'dashboard.rules.yml',
      );
      expect(dashboard.output).not.toMatch(/error|FAILED/i);
      expect(dashboard.status).toBe(0);
    },
  );
});
