import { randomBytes, randomUUID } from 'node:crypto';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { ApiResponse } from '../utils/api-client';
import { AppProcess, startAppProcess } from '../utils/app-process';
import { builtApp } from '../utils/built-app';
import { parseLogLines } from '../utils/log-lines';
import { freePort } from '../utils/net';
import { OtlpReceiver, ReceivedSpan, renderTree } from '../utils/otlp-receiver';
import { metricTypes, parseExemplars } from '../utils/prometheus-text';
import { PrivateRedis } from '../utils/private-redis';

const SERVER = 2;

/** The trace id a response names in its `traceresponse` header. */
function traceIdOf(response: ApiResponse): string {
  const header = response.headers.get('traceresponse');
  expect(header).toMatch(/^00-[0-9a-f]{32}-[0-9a-f]{16}-0[01]$/);
  return header!.split('-')[1];
}

function named(spans: readonly ReceivedSpan[], name: string): ReceivedSpan[] {
  return spans.filter((span) => span.name === name);
}

/** The names of `span`'s ancestors, nearest first. */
function ancestors(spans: readonly ReceivedSpan[], span: ReceivedSpan): string[] {
  const byId = new Map(spans.map((each) => [each.spanId, each]));
  const names: string[] = [];
  for (let parent = byId.get(span.parentSpanId ?? ''); parent;) {
    names.push(parent.name);
    parent = byId.get(parent.parentSpanId ?? '');
  }
  return names;
}

/** The trace of one request is complete once its server span (ended last) has arrived. */
const hasServerSpan = (spans: ReceivedSpan[]) => spans.some((span) => span.kind === SERVER);

/**
 * The app in its own process (instrumentation patches modules as Node loads them, which Jest's
 * module registry does not do reliably) with a private Redis (the limiter's and the cache's
 * calls), exporting OTLP/HTTP JSON to a receiver of the test's; a second app exports to a port
 * nobody listens on.
 */
describe('tracing (e2e, app process, OTLP/HTTP receiver)', () => {
  const receiver = new OtlpReceiver();
  const privateDir = join(__dirname, '..', '..', '.data', 'tracing-e2e-build');
  let redis: PrivateRedis;
  let app: AppProcess;
  let unreachable: AppProcess;

  beforeAll(async () => {
    // the built app: plain node starts several times faster than ts-node
    const entry = join(await builtApp(privateDir), 'src', 'main.js');
    const endpoint = await receiver.start();
    redis = await PrivateRedis.start();
    const tracing = {
      REDIS_URL: redis.url,
      OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json',
      OTEL_SERVICE_NAME: 'loadstar-e2e',
      // exported within 50 ms of ending rather than 5 s: the test waits for what it asserts
      OTEL_BSP_SCHEDULE_DELAY: '50',
      LOG_LEVEL: 'info',
      // every hit counted by a Redis call (a count from the process's lease has no span)
      RATE_LIMIT_LEASE_PERCENT: '0',
    };
    [app, unreachable] = await Promise.all([
      startAppProcess(
        { ...tracing, OTEL_EXPORTER_OTLP_ENDPOINT: endpoint },
        { entry, timeoutMs: 90_000 },
      ),
      startAppProcess(
        {
          ...tracing,
          OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${await freePort()}`,
          // the jobs of the first app's requests are that app's to run (and trace)
          PROCESS_ROLE: 'api',
        },
        { entry, timeoutMs: 90_000 },
      ),
    ]);
  }, 240_000);
  afterAll(async () => {
    await Promise.all([app?.stop(), unreachable?.stop()]);
    await redis?.kill();
    await receiver.stop();
    await rm(privateDir, { recursive: true, force: true });
  });

  it('traces a cache miss as server → limiter, and server → cache → pool and query', async () => {
    const user = await app.api.createUser('Traced');
    const res = await app.api.get(`/api/users/${user.id}`);
    expect(res.status).toBe(200);
    const spans = await receiver.trace(traceIdOf(res), hasServerSpan);

    const [server] = spans.filter((span) => span.kind === SERVER);
    expect(server).toMatchObject({
      name: 'GET /api/users/:id',
      service: 'loadstar-e2e',
      attributes: {
        'http.route': '/api/users/:id',
        'http.request.method': 'GET',
        'http.response.status_code': 200,
        'client.address': '127.0.0.1',
      },
    });
    const limiter = named(spans, 'rate_limit.check');
    const [cache] = named(spans, 'cache.read');
    expect(cache.attributes).toMatchObject({
      'cache.name': 'user',
      'cache.result': 'miss',
      'cache.tier': 'origin',
    });
    const [query] = spans.filter((span) => span.name.startsWith('pg.query'));
    // the statement's text, never its parameters' values
    expect(query.attributes['db.query.text']).toContain('$1');
    const text = String(query.attributes['db.query.text']).replace(/\$\d+/g, '');
    expect(text).not.toMatch(new RegExp(`\\b${user.id}\\b`));
    process.stdout.write(`cache miss of GET /api/users/:id:\n${renderTree(spans)}\n`);
    // this request alone in its event-loop turn: the limiter's batched call is its child
    expect(limiter.map((span) => ancestors(spans, span))).toEqual([
      expect.arrayContaining([server.name]),
    ]);
    expect(ancestors(spans, query)).toEqual(expect.arrayContaining(['cache.read', server.name]));
    expect(ancestors(spans, named(spans, 'pg-pool.connect')[0])).toContain('cache.read');
    // the limiter's Redis script, under its span; the command name only (keys hold addresses)
    const [evalsha] = spans.filter(
      (span) => span.name === 'redis-EVALSHA' && ancestors(spans, span)[0] === 'rate_limit.check',
    );
    expect(evalsha.attributes['db.query.text']).toBe('EVALSHA');
  });

  it('traces a cache hit without a query', async () => {
    const user = await app.api.createUser('Cached');
    await app.api.get(`/api/users/${user.id}`);
    const res = await app.api.get(`/api/users/${user.id}`);
    const spans = await receiver.trace(traceIdOf(res), hasServerSpan);
    expect(named(spans, 'cache.read').map((span) => span.attributes)).toEqual([
      { 'cache.name': 'user', 'cache.result': 'hit', 'cache.tier': 'memory' },
    ]);
    expect(spans.filter((span) => span.name.startsWith('pg.'))).toEqual([]);
  });

  it('continues the trace of an incoming traceparent and answers with its trace id', async () => {
    const traceId = randomBytes(16).toString('hex');
    const parentId = randomBytes(8).toString('hex');
    const res = await app.api.get('/api/config', {
      headers: { traceparent: `00-${traceId}-${parentId}-01` },
    });
    expect(traceIdOf(res)).toBe(traceId);
    const spans = await receiver.trace(traceId, hasServerSpan);
    const [server] = spans.filter((span) => span.kind === SERVER);
    expect(server).toMatchObject({ name: 'GET /api/config', parentSpanId: parentId });
  });

  it('follows a registration into the worker thread and links its job to it', async () => {
    const res = await app.api.post('/api/auth/register', {
      email: `traced-${randomUUID()}@example.test`,
      password: `pw-${randomUUID()}`,
      name: 'Worker',
    });
    expect(res.status).toBe(201);
    const traceId = traceIdOf(res);
    // the thread exports its spans itself, on its own schedule
    const spans = await receiver.trace(
      traceId,
      (received) => hasServerSpan(received) && named(received, 'worker.task').length > 0,
    );
    const [run] = named(spans, 'worker.run');
    expect(run.attributes).toMatchObject({ 'worker.task': 'derive-key', 'worker.outcome': 'ok' });
    // started in the thread, by the thread's own SDK, as a child of the main thread's span
    const [task] = named(spans, 'worker.task');
    expect(task.parentSpanId).toBe(run.spanId);

    const requestSpans = new Set(spans.map((span) => span.spanId));
    const job = await waitFor(() =>
      receiver.spans.find(
        (span) =>
          span.name === 'job welcome-notification' &&
          span.links.some((link) => link.traceId === traceId && requestSpans.has(link.spanId)),
      ),
    );
    // a trace of its own: the job outlives the request
    expect(job.traceId).not.toBe(traceId);
  });

  it('links every request a batched limiter call counted to that call', async () => {
    const responses = await Promise.all(
      Array.from({ length: 20 }, () => app.api.get('/api/config')),
    );
    const traces = await Promise.all(
      responses.map((res) => receiver.trace(traceIdOf(res), hasServerSpan)),
    );
    const checks = new Map(
      receiver.spans
        .filter((span) => span.name === 'rate_limit.check')
        .map((span) => [span.spanId, span]),
    );
    for (const spans of traces) {
      const own = spans.filter((span) => span.name === 'rate_limit.check');
      const linked = spans.flatMap((span) => span.links).filter((link) => checks.has(link.spanId));
      // counted by a call of its own trace, or by one started in another request's trace
      expect(own.length + linked.length).toBe(1);
    }
  });

  it('writes trace_id and span_id on the log lines of a traced request', async () => {
    const requestId = `tracing-${randomUUID()}`;
    const res = await app.api.get('/api/config', { headers: { 'x-request-id': requestId } });
    const traceId = traceIdOf(res);
    const spans = await receiver.trace(traceId, hasServerSpan);
    const line = await waitFor(() =>
      parseLogLines(app.output()).find((each) => each.requestId === requestId),
    );
    expect(line.trace_id).toBe(traceId);
    expect(spans.map((span) => span.spanId)).toContain(line.span_id);
  });

  it('names sampled traces as exemplars of http_request_duration_seconds in OpenMetrics only', async () => {
    const sampled = await app.api.get('/api/config');
    const traceId = traceIdOf(sampled);
    const spans = await receiver.trace(traceId, hasServerSpan);
    // the caller decided not to sample: no exemplar may name a trace the collector never got
    const unsampledId = randomBytes(16).toString('hex');
    const unsampled = await app.api.get('/api/config', {
      headers: { traceparent: `00-${unsampledId}-${randomBytes(8).toString('hex')}-00` },
    });
    expect(traceIdOf(unsampled)).toBe(unsampledId);

    const scrape = await app.api.get('/metrics', {
      headers: { accept: 'application/openmetrics-text; version=1.0.0' },
    });
    expect(scrape.status).toBe(200);
    expect(scrape.headers.get('content-type')).toMatch(
      /^application\/openmetrics-text; version=1\.0\.0/,
    );
    expect(scrape.text.endsWith('\n# EOF\n')).toBe(true);
    const exemplars = parseExemplars(scrape.text);
    const ofConfig = exemplars.filter(
      (sample) =>
        sample.name === 'http_request_duration_seconds_bucket' &&
        sample.labels.route === '/api/config',
    );
    const [mine] = ofConfig.filter((sample) => sample.exemplar.labels.trace_id === traceId);
    expect(mine).toBeDefined();
    expect(spans.map((span) => span.spanId)).toContain(mine.exemplar.labels.span_id);
    // the exemplar sits on the bucket its observation fell in
    const bound = mine.labels.le === '+Inf' ? Infinity : Number(mine.labels.le);
    expect(mine.exemplar.value).toBeLessThanOrEqual(bound);
    expect(exemplars.map((sample) => sample.exemplar.labels.trace_id)).not.toContain(unsampledId);

    // a cache hit, which the cache's fast path serves ahead of Nest's router, is observed alike
    const user = await app.api.createUser('Exemplar');
    await app.api.get(`/api/users/${user.id}`);
    const hit = await app.api.get(`/api/users/${user.id}`);
    expect(hit.headers.get('x-cache')).toBe('HIT');
    const hitTrace = traceIdOf(hit);
    const afterHit = await app.api.get('/metrics', {
      headers: { accept: 'application/openmetrics-text; version=1.0.0' },
    });
    expect(
      parseExemplars(afterHit.text).filter(
        (sample) =>
          sample.labels.route === '/api/users/:id' && sample.exemplar.labels.trace_id === hitTrace,
      ),
    ).toHaveLength(1);

    const plain = await app.api.get('/metrics');
    expect(plain.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
    expect(parseExemplars(plain.text)).toEqual([]);
    expect(plain.text).not.toContain(traceId);
    expect(metricTypes(plain.text).get('http_request_duration_seconds')).toBe('histogram');
  });

  it('serves as usual when the collector is unreachable', async () => {
    const responses = await Promise.all(
      Array.from({ length: 20 }, () => unreachable.api.get('/api/config')),
    );
    expect(responses.map((res) => res.status)).toEqual(responses.map(() => 200));
    for (const res of responses) traceIdOf(res);
    const errors = parseLogLines(unreachable.output()).filter(
      (line) => line.level === 'error' || line.level === 'fatal',
    );
    expect(errors).toEqual([]);
    expect(unreachable.child.exitCode).toBeNull();
  });
});

async function waitFor<T>(find: () => T | undefined, timeoutMs = 15_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const found = find();
    if (found !== undefined) return found;
    if (Date.now() > deadline) throw new Error('not found in time');
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
