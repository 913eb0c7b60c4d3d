import { AppProcess, startAppProcess } from '../utils/app-process';
import { probeUntilRefused, ProbeResult, startPostInFlight } from './runtime-probes';

const IN_FLIGHT = 200;

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
    expect(exitedAfterMs).toBeLessThan(delayMs + timeoutMs);
    expect(app.output()).toMatch(/"msg":"shut down cleanly"/);
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
    expect(app.output()).toContain(`requests still running after ${timeoutMs} ms`);
  }, 120_000);
});
