import { Agent, request } from 'node:http';
import { AppProcess, startAppProcess } from '../utils/app-process';
import { probeUntilRefused, ProbeResult, startPostInFlight } from './runtime-probes';

const IN_FLIGHT = 200;
/** The shutdown's budget for closing the pools, Redis and PostgreSQL after the drain. */
const CLOSE_BUDGET_MS = 5_000;

/** Requests waiting for a pooled connection must not time out on a loaded test machine. */
const PATIENT_POOL = { DB_CONNECT_TIMEOUT_MS: '20000', WORKER_POOL_SIZE: '1', LOG_LEVEL: 'info' };

describe('graceful shutdown (e2e)', () => {
  let app: AppProcess | undefined;

  afterEach(async () => {
    await app?.stop('SIGKILL');
    app = undefined;
  });

  it('turns readiness 503, closes the listener, finishes 200 requests in flight and exits 0', async () => {
    const delayMs = 1_500;
    const timeoutMs = 10_000;
    app = await startAppProcess({
      ...PATIENT_POOL,
      SHUTDOWN_DELAY_MS: String(delayMs),
      SHUTDOWN_TIMEOUT_MS: String(timeoutMs),
    });
    const user = await app.api.createUser();
    const inFlight = await Promise.all(
      Array.from({ length: IN_FLIGHT }, (_, index) =>
        startPostInFlight(
          app!.port,
          '/api/posts',
          { title: `in flight ${index}`, body: 'sent half before SIGTERM, half after' },
          user.token,
        ),
      ),
    );

    const signalledAt = Date.now();
    process.kill(app.pid, 'SIGTERM');
    const readiness = await probeUntilRefused(app.port, '/health/ready');
    // the bodies are completed only now, after the listener has closed
    const statuses = await Promise.all(inFlight.map((request) => request.finish()));
    const exitCode = await app.exited;
    const exitedAfterMs = Date.now() - signalledAt;

    // 200 until the signal is handled, then 503 until the listener refuses connections; a
    // probe connecting at the very moment it closes is reset (still in the accept backlog, or
    // accepted but not yet read), the race SHUTDOWN_DELAY_MS keeps load balancers out of
    expect(readiness.join(' ')).toMatch(/^(200 )*(503 )+(failed )?refused$/);
    expect(statuses).toEqual(Array<ProbeResult>(IN_FLIGHT).fill(201));
    expect(exitCode).toBe(0);
    // the test's own fetch pool keeps its kept-alive connections idle, and a draining server
    // leaves idle connections to their client until SHUTDOWN_TIMEOUT_MS (no close/send race),
    // then cuts them; the pools then close within the close budget
    expect(exitedAfterMs).toBeLessThan(delayMs + timeoutMs + CLOSE_BUDGET_MS);
    expect(app.output()).toMatch(/"msg":"shut down cleanly"/);
  }, 120_000);

  it('serves a POST sent on an idle kept-alive connection after the listener closed', async () => {
    app = await startAppProcess(
      { ...PATIENT_POOL, SHUTDOWN_TIMEOUT_MS: '10000' },
      { timeoutMs: 90_000 },
    );
    const user = await app.api.createUser();
    // one kept-alive connection, as a proxy's upstream pool holds them
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    const post = (title: string) =>
      new Promise<{ status: number; connection?: string }>((resolve, reject) => {
        const req = request(
          {
            host: '127.0.0.1',
            port: app!.port,
            method: 'POST',
            path: '/api/posts',
            agent,
            headers: {
              authorization: `Bearer ${user.token}`,
              'content-type': 'application/json',
            },
          },
          (res) => {
            res.resume();
            res.on('end', () =>
              resolve({ status: res.statusCode ?? 0, connection: res.headers.connection }),
            );
          },
        );
        req.on('error', reject);
        req.end(JSON.stringify({ title, body: 'on a kept-alive connection' }));
      });
    try {
      expect((await post('before')).status).toBe(201);

      process.kill(app.pid, 'SIGTERM');
      const readiness = await probeUntilRefused(app.port, '/health/ready');
      expect(readiness.at(-1)).toBe('refused');
      // the listener is closed; the idle connection is still the server's to answer on
      expect(await post('after the listener closed')).toEqual({
        status: 201,
        connection: 'close',
      });
      expect(await app.exited).toBe(0);
    } finally {
      agent.destroy();
    }
  }, 120_000);

  it('cuts a request that outlasts SHUTDOWN_TIMEOUT_MS and still exits 0', async () => {
    const timeoutMs = 1_000;
    app = await startAppProcess({ ...PATIENT_POOL, SHUTDOWN_TIMEOUT_MS: String(timeoutMs) });
    const user = await app.api.createUser();
    const stuck = await startPostInFlight(
      app.port,
      '/api/posts',
      { title: 'never finished', body: 'the rest never comes' },
      user.token,
    );

    const signalledAt = Date.now();
    process.kill(app.pid, 'SIGTERM');
    const exitCode = await app.exited;
    const exitedAfterMs = Date.now() - signalledAt;

    expect(exitCode).toBe(0);
    expect(await stuck.outcome).toBe('failed');
    expect(exitedAfterMs).toBeGreaterThanOrEqual(timeoutMs);
    expect(app.output()).toContain(`connections still open after ${timeoutMs} ms`);
  }, 120_000);
});
