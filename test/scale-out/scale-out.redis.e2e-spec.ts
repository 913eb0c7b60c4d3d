import { randomUUID } from 'node:crypto';
import { rm } from 'node:fs/promises';
import { request as httpRequest } from 'node:http';
import { join, resolve } from 'node:path';
import { Client } from 'pg';
import { errorBody, TestUser } from '../utils/api-client';
import { AppProcess, startAppProcess } from '../utils/app-process';
import { builtApp } from '../utils/built-app';
import { sleep } from '../utils/net';
import { privateRateLimitKeyPrefix, RELAXED_RATE_LIMITS } from '../utils/rate-limits';
import { expectEachWriteOnce, H2Clients, MixedLoad, storedWrites, summarize } from './h2-load';
import { NginxProxy, startNginxProxy } from './nginx-proxy';

const INSTANCES = 3;
const EXPENSIVE_LIMIT = 12;
const DASHBOARD_ROUTE = '/api/users/:id/dashboard';
const MiB = 1024 * 1024;
/** Client connections of the mixed load (HTTP/2 sessions, one request at a time on each). */
const CONNECTIONS = 50;

/** Requests to `route` that one instance answered, whatever their status, from its `/metrics`. */
async function requestsServed(app: AppProcess, route: string): Promise<number> {
  const { text } = await app.api.get('/metrics');
  return text
    .split('\n')
    .filter(
      (line) =>
        line.startsWith('http_request_duration_seconds_count{') &&
        line.includes(`route="${route}"`),
    )
    .reduce((sum, line) => sum + Number(line.slice(line.lastIndexOf(' ') + 1)), 0);
}

/**
 * Three app processes on loopback ports behind a real nginx running the shipped
 * `deploy/nginx/` configuration, sharing the server PostgreSQL and Redis, as
 * docker-compose.yml runs them (there with two).
 */
describe('scale-out behind nginx (e2e, shared PostgreSQL and Redis)', () => {
  const env = {
    ...RELAXED_RATE_LIMITS,
    // one limiter namespace for the instances of this run, unused by anything else
    RATE_LIMIT_KEY_PREFIX: privateRateLimitKeyPrefix(),
    RATE_LIMIT_EXPENSIVE: `${EXPENSIVE_LIMIT}/1h`,
    TRUST_PROXY: '1',
    // a busy test machine stalls event loops now and then; shedding has tests of its own
    SHED_EVENT_LOOP_DELAY_MS: '0',
    // nor may a wait for a pooled connection (a 503, the overload answer) pass for a deploy's
    // failure: the load of 50 connections queues on 3 small pools
    DB_CONNECT_TIMEOUT_MS: '20000',
    // a cache command timed out on a busy machine leaves other instances' L1 stale until its
    // replay (200 ms later), which the Redis outage suite covers; here a write must be seen next
    CACHE_REDIS_TIMEOUT_MS: '2000',
  };
  // the built app: plain node starts several times faster than ts-node, which matters for
  // three processes restarted under load
  const privateDir = join(resolve(__dirname, '..', '..'), '.data', `scale-out-dist-${process.pid}`);
  let entry: string;
  const start = (extra: Record<string, string> = {}) =>
    startAppProcess({ ...env, ...extra }, { timeoutMs: 100_000, entry });
  let apps: AppProcess[] = [];
  let nginx: NginxProxy;

  beforeAll(async () => {
    entry = join(await builtApp(privateDir), 'src', 'main.js');
    apps = await Promise.all(Array.from({ length: INSTANCES }, () => start()));
    nginx = await startNginxProxy(apps.map((app) => app.port));
  }, 400_000);
  afterAll(async () => {
    await nginx?.stop();
    await Promise.all(apps.map((app) => app.stop()));
    await rm(privateDir, { recursive: true, force: true });
  });

  it.each(['/health/ready', '/health/live', '/metrics', '/docs', '/docs-json'])(
    'nginx keeps %s off the public side, in the error shape',
    async (path) => {
      const res = await nginx.api.get(path);
      expect(res.status).toBe(404);
      expect(res.body).toEqual(errorBody(404, `Cannot GET ${path}`));
      expect(res.headers.get('x-request-id')).toBe(res.body.requestId);
    },
  );

  it('a PATCH through one instance is what every other instance serves next', async () => {
    const [writer, ...readers] = apps;
    const user = await writer.api.createUser('Before');
    for (const reader of readers) {
      await reader.api.get(`/api/users/${user.id}`);
      const cached = await reader.api.get(`/api/users/${user.id}`);
      expect([cached.body.name, cached.headers.get('x-cache')]).toEqual(['Before', 'HIT']);
    }

    const patch = await writer.api.patch(
      `/api/users/${user.id}`,
      { name: 'After' },
      { token: user.token },
    );
    expect(patch.status).toBe(200);
    for (const reader of readers) {
      expect((await reader.api.get(`/api/users/${user.id}`)).body.name).toBe('After');
    }
    for (let i = 0; i < INSTANCES * 2; i++) {
      expect((await nginx.api.get(`/api/users/${user.id}`)).body.name).toBe('After');
    }
  });

  it('a token issued by one instance is accepted by every other', async () => {
    const user = await apps[0].api.createUser();
    for (const app of apps) {
      const me = await app.api.get('/api/users/me', { token: user.token });
      expect([me.status, me.body.id]).toEqual([200, user.id]);
    }
  });

  it("refuses a body over the app's 1 MB at nginx, in the error shape, without an app seeing it", async () => {
    const user = await nginx.api.createUser();
    const servedBefore = await Promise.all(apps.map((app) => requestsServed(app, '/api/posts')));
    const res = await nginx.api.post(
      '/api/posts',
      { title: 'big', body: 'x'.repeat(2 * MiB) },
      { token: user.token },
    );
    expect(res.status).toBe(413);
    expect(res.body).toEqual(errorBody(413, 'request body too large'));
    expect(res.headers.get('x-request-id')).toBe(res.body.requestId);
    const servedAfter = await Promise.all(apps.map((app) => requestsServed(app, '/api/posts')));
    expect(servedAfter).toEqual(servedBefore);
  });

  it('streams the import: a bad header is answered while the upload is still under way', async () => {
    const user = await nginx.api.createUser();
    // 2 MB of a 20 MB upload; buffering, nginx would wait for the other 18 MB first
    const declaredBytes = 20 * MiB;
    const firstPart = Buffer.concat([Buffer.from('name,text\n'), Buffer.alloc(2 * MiB, 'a,b\n')]);
    const upload = httpRequest(new URL('/api/posts/import', nginx.url), {
      method: 'POST',
      headers: {
        'content-type': 'text/csv',
        'content-length': String(declaredBytes),
        authorization: `Bearer ${user.token}`,
      },
    });
    upload.on('error', () => undefined);
    try {
      const answered = new Promise<{ status?: number; body: string }>((resolve, reject) => {
        upload.once('response', (response) => {
          let body = '';
          response.setEncoding('utf8');
          response.on('data', (chunk: string) => (body += chunk));
          response.once('end', () => resolve({ status: response.statusCode, body }));
          response.once('error', reject);
        });
      });
      upload.write(firstPart);
      // unref: a pending timer must not keep Jest waiting once the answer came
      const timeout = new Promise<string>((resolve) =>
        setTimeout(resolve, 20_000, 'no answer before the rest of the body').unref(),
      );
      const outcome = await Promise.race([answered, timeout]);
      expect(outcome).toMatchObject({ status: 400 });
      expect(JSON.parse((outcome as { body: string }).body).message).toMatch(
        /^line 1: the header row must name/,
      );
    } finally {
      upload.destroy();
    }
  }, 30_000);

  // after the import: both spend the expensive budget of the one address nginx passes on (the
  // tier is keyed by user and by address)
  it('holds one rate limit across the instances, keyed on the address nginx saw', async () => {
    const user = await nginx.api.createUser();
    const dashboard = (attempt: number) =>
      // forged each time, and each time replaced by nginx: still one client
      nginx.api.get(`/api/users/${user.id}/dashboard`, {
        headers: { 'x-forwarded-for': `198.51.100.${attempt}` },
      });
    const first = await dashboard(0);
    expect(first.headers.get('ratelimit-limit')).toBe(String(EXPENSIVE_LIMIT));
    const left = Number(first.headers.get('ratelimit-remaining'));
    expect(left).toBeGreaterThan(EXPENSIVE_LIMIT / 2);
    const statuses = [first.status];
    for (let attempt = 1; attempt < left + 7; attempt++) {
      statuses.push((await dashboard(attempt)).status);
    }
    expect(statuses).toEqual([...Array(left + 1).fill(200), ...Array(6).fill(429)]);

    const served = await Promise.all(apps.map((app) => requestsServed(app, DASHBOARD_ROUTE)));
    expect(served.every((count) => count > 0)).toBe(true);
    expect(served.reduce((sum, count) => sum + count, 0)).toBe(left + 7);
  });

  /** SIGTERM each instance in turn and start its replacement; the exit codes, in order. */
  async function restartEachInTurn(): Promise<(number | null)[]> {
    const exitCodes: (number | null)[] = [];
    for (let i = 0; i < apps.length; i++) {
      await sleep(500);
      const old = apps[i];
      exitCodes.push(await old.stop('SIGTERM', 30_000));
      // the replacement takes the same address, as a restarted container would
      apps[i] = await start({ PORT: String(old.port) });
    }
    await sleep(500);
    return exitCodes;
  }

  it('restarts every instance in turn under load with no failed request', async () => {
    const reader: TestUser = await nginx.api.createUser();
    const post = await nginx.api.post(
      '/api/posts',
      { title: 'rolling', body: 'restart' },
      { token: reader.token },
    );
    expect(post.status).toBe(201);
    const paths = [
      `/api/posts/${post.body.id}`,
      `/api/users/${reader.id}`,
      '/api/users/me',
      '/api/posts?limit=5',
      '/api/config',
    ];

    // bounded: 8 clients, at most 30 000 requests and 4 minutes, stopped when the restart ends
    const outcomes: Record<string, number> = {};
    let sent = 0;
    let restarting = true;
    const deadline = Date.now() + 240_000;
    const client = async () => {
      while (restarting && sent < 30_000 && Date.now() < deadline) {
        const path = paths[sent++ % paths.length];
        const outcome = await nginx.api.get(path, { token: reader.token }).then(
          (res) => String(res.status),
          (error: Error & { cause?: { code?: string } }) => error.cause?.code ?? error.message,
        );
        outcomes[outcome] = (outcomes[outcome] ?? 0) + 1;
      }
    };
    const load = Promise.all(Array.from({ length: 8 }, client));

    const exitCodes = await restartEachInTurn();
    restarting = false;
    await load;

    expect(exitCodes).toEqual(Array(INSTANCES).fill(0));
    expect(sent).toBeGreaterThan(100);
    expect(outcomes).toEqual({ '200': sent });
  }, 420_000);

  it('restarts every instance under GETs and keyed POSTs and PATCHes over HTTPS and HTTP/2: no failed request, every write once', async () => {
    const writer: TestUser = await nginx.api.createUser();
    const target = await nginx.api.post(
      '/api/posts',
      { title: 'patched', body: '0' },
      { token: writer.token },
    );
    expect(target.status).toBe(201);
    const run = randomUUID();
    const h2 = new H2Clients(nginx.httpsUrl, nginx.ca, CONNECTIONS);
    const db = new Client({ connectionString: process.env.DATABASE_URL });
    await db.connect();
    try {
      const load = new MixedLoad(h2, CONNECTIONS, {
        token: writer.token,
        postIds: [target.body.id],
        run,
        reads: [`/api/posts/${target.body.id}`, `/api/users/${writer.id}`, '/api/config'],
        maxRequests: 60_000,
        timeoutMs: 30_000,
      });
      const exitCodes = await restartEachInTurn();
      const report = await load.stop();

      const stored = await storedWrites(db, writer.id, run, [target.body.id]);
      const summary = summarize(report.samples);
      const acknowledged = report.posted.size + report.patched.size;
      process.stdout.write(
        `rolling restart (3 instances on loopback, nginx HTTPS + HTTP/2, ${CONNECTIONS} connections): ` +
          `${summary.requests} requests, ${summary.non2xx} non-2xx ${JSON.stringify(summary.failures)}, writes acknowledged ` +
          `${acknowledged} vs found ${stored.titles.length + stored.version - target.body.version}, ` +
          `p50 ${summary.p50.toFixed(1)} ms, p99 ${summary.p99.toFixed(1)} ms\n`,
      );

      expect(exitCodes).toEqual(Array(INSTANCES).fill(0));
      expect(summary.requests).toBeGreaterThan(300);
      expect(summary.non2xx).toBe(0);
      expectEachWriteOnce(stored, report, target.body.version);
    } finally {
      h2.close();
      await db.end();
    }
  }, 420_000);
});
