import { MetricValueWithName, register } from 'prom-client';
import { errorBody } from '../utils/api-client';
import { startTestApp, TestApp } from '../utils/test-app';

/** Requests `http_request_duration_seconds` has seen on `route`, in this (Jest worker) process. */
async function observed(route: string): Promise<number> {
  const metric = await register.getSingleMetric('http_request_duration_seconds')?.get();
  return ((metric?.values ?? []) as MetricValueWithName<string>[])
    .filter((value) => value.metricName?.endsWith('_count') && value.labels.route === route)
    .reduce((sum, value) => sum + value.value, 0);
}

describe('metrics switched off (e2e)', () => {
  let t: TestApp;

  beforeAll(async () => {
    t = await startTestApp({ METRICS_ENABLED: 'false' });
  });
  afterAll(() => t.close());

  it('answers GET /metrics with 404 in the error shape', async () => {
    const res = await t.api.get('/metrics');
    expect(res.status).toBe(404);
    expect(res.body).toEqual(errorBody(404, 'metrics are switched off'));
  });

  it('observes no request', async () => {
    const before = await observed('/api/config');
    for (let i = 0; i < 3; i++) expect((await t.api.get('/api/config')).status).toBe(200);
    expect(await observed('/api/config')).toBe(before);
  });
});
