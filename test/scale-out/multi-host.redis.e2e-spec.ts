import { randomUUID } from 'node:crypto';
import { rm } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { Client } from 'pg';
import { TestUser } from '../utils/api-client';
import { AppProcess, startAppProcess } from '../utils/app-process';
import { builtApp } from '../utils/built-app';
import { sleep } from '../utils/net';
import { PrivateRedis } from '../utils/private-redis';
import {
  expectEachWriteOnce,
  H2Clients,
  LoadReport,
  LoadSample,
  MixedLoad,
  storedWrites,
  summarize,
} from './h2-load';
import { createHosts, cutLink, NetworkHosts, removeHosts, removeLeftovers } from './network-hosts';
import { NginxProxy, startNginxProxy } from './nginx-proxy';
import { startTcpRelay, TcpRelay } from './tcp-relay';

const HOSTS = 3;
const CONNECTIONS = 50;
const APP_PORT = 3000;
/**
 * A request of the load taking longer is abandoned and counted as failed. Generous: the 2-core
 * CI machine is shared, and a request there may queue for seconds without anything being wrong.
 * A request stuck on the lost host waits this long (nginx's own read timeout is 60 s).
 */
const REQUEST_TIMEOUT_MS = 30_000;
/** Each phase stops by itself after this many requests, whatever the machine's speed. */
const MAX_REQUESTS = 40_000;
/**
 * The host-loss phase's client timeout. nginx hands a request to the lost host on each of its
 * idle kept-alive connections before it sees a failure, and each waits out
 * `proxy_read_timeout`; a client that waited 30 s would have all 50 connections of the load
 * stuck there within a second or two, and nothing left to measure the other hosts with. Real
 * clients are many and each gives up on its own; these give up after this, long after any
 * answer of a live host (p99 under 1 s in every run), and send again.
 */
const LOST_HOST_REQUEST_TIMEOUT_MS = 8_000;
/** How long the host-loss phase keeps the load on after the cut (a few client timeouts). */
const AFTER_CUT_MS = 20_000;
/** Posts the load's PATCHes spread over (each PATCH holds its row's lock until it commits). */
const PATCHED_POSTS = 8;
/** Attempts of the client's own retry of a keyed write that got no answer, 2 s apart. */
const RETRY_ATTEMPTS = 25;

const isOk = (status: number | string) => /^2\d\d$/.test(String(status));

/** nginx's access log by request id: the line, and the upstreams nginx tried (in order). */
function accessLogByRequestId(
  lines: readonly string[],
): Map<string, { line: string; upstreams: string }> {
  const byId = new Map<string, { line: string; upstreams: string }>();
  for (const line of lines) {
    const match = / upstream=(.*) request_id=(\S+)$/.exec(line);
    if (match) byId.set(match[2], { line, upstreams: match[1] });
  }
  return byId;
}

/**
 * Three hosts as Linux network namespaces, each joined to the root namespace by a veth pair on
 * a /24 of its own, one built loadstar in each; the shipped nginx in the root namespace in
 * front (HTTPS and HTTP/2, a test-made certificate). The hosts reach the server PostgreSQL
 * through a relay process and a private redis-server, both listening on the links' root ends.
 * Skipped (test/setup/skipped-suites.ts) where `ip netns add` is refused.
 */
describe('three hosts behind nginx (e2e, network namespaces, shared PostgreSQL)', () => {
  const privateDir = join(resolve(__dirname, '..', '..'), '.data', `multi-host-${process.pid}`);
  const database = new URL(process.env.DATABASE_URL!);
  const common = {
    TRUST_PROXY: '1',
    // a busy test machine stalls event loops now and then; shedding has tests of its own
    SHED_EVENT_LOOP_DELAY_MS: '0',
    // nor may a wait for a pooled connection (a 503) pass for a deploy's failure
    DB_CONNECT_TIMEOUT_MS: '20000',
  };
  let entry: string;
  let network: NetworkHosts | undefined;
  let relay: TcpRelay | undefined;
  let redis: PrivateRedis | undefined;
  const apps: (AppProcess | undefined)[] = [];
  let nginx: NginxProxy | undefined;
  let db: Client | undefined;
  let writer: TestUser;
  let postIds: number[];

  const start = (index: number) => {
    const host = network!.hosts[index];
    const through = new URL(database);
    through.hostname = host.gateway;
    through.port = String(relay!.ports[host.gateway]);
    return startAppProcess(
      {
        ...common,
        DATABASE_URL: through.toString(),
        REDIS_URL: redis!.urlOn(host.gateway),
        PORT: String(APP_PORT),
      },
      { entry, netns: host.netns, host: host.address, timeoutMs: 100_000 },
    );
  };

  beforeAll(async () => {
    removeLeftovers();
    entry = join(await builtApp(privateDir), 'src', 'main.js');
    network = createHosts(HOSTS);
    const gateways = network.hosts.map((host) => host.gateway);
    relay = await startTcpRelay(
      { host: database.hostname, port: Number(database.port || 5432) },
      gateways,
    );
    redis = await PrivateRedis.start({ alsoBind: gateways, password: randomUUID() });
    const started = await Promise.allSettled(network.hosts.map((_, index) => start(index)));
    started.forEach((outcome, index) => {
      if (outcome.status === 'fulfilled') apps[index] = outcome.value;
    });
    for (const outcome of started) if (outcome.status === 'rejected') throw outcome.reason;
    nginx = await startNginxProxy(
      network.hosts.map((host) => `${host.address}:${APP_PORT}`),
      { accessLog: true },
    );
    db = new Client({ connectionString: process.env.DATABASE_URL });
    await db.connect();
    writer = await nginx.api.createUser();
    postIds = [];
    for (let i = 0; i < PATCHED_POSTS; i++) {
      const post = await nginx.api.post(
        '/api/posts',
        { title: `patched ${i}`, body: '0' },
        { token: writer.token },
      );
      if (post.status !== 201) throw new Error(`creating a patched post failed: ${post.text}`);
      postIds.push(post.body.id);
    }
  }, 300_000);

  afterAll(async () => {
    await db?.end();
    await nginx?.stop();
    await Promise.all(apps.map((app) => app?.stop('SIGKILL')));
    await relay?.stop();
    await redis?.kill();
    // also kills by pid whatever still runs in the namespaces (a start that failed half-way)
    if (network) removeHosts(network);
    await rm(privateDir, { recursive: true, force: true });
  });

  const mixedLoad = (h2: H2Clients, run: string, timeoutMs = REQUEST_TIMEOUT_MS) =>
    new MixedLoad(h2, CONNECTIONS, {
      token: writer.token,
      postIds,
      run,
      reads: [`/api/posts/${postIds[0]}`, `/api/users/${writer.id}`, '/api/config'],
      maxRequests: MAX_REQUESTS,
      timeoutMs,
    });

  /** The load's failed requests, each with nginx's access-log line for it (what it tried). */
  function failuresOf(samples: readonly LoadSample[]) {
    const logged = accessLogByRequestId(nginx!.accessLog());
    return samples
      .filter((sample) => !isOk(sample.status))
      .map((sample) => ({ ...sample, nginx: logged.get(sample.requestId)?.line }));
  }

  /** Prints a phase's counts and latencies; returns the writes found in the database. */
  async function report(
    phase: string,
    run: string,
    load: LoadReport,
    versionBefore: number,
    extra = '',
  ) {
    const stored = await storedWrites(db!, writer.id, run, postIds);
    const summary = summarize(load.samples);
    process.stdout.write(
      `${phase} (${HOSTS} network-namespace hosts, nginx HTTPS + HTTP/2, ${CONNECTIONS} connections): ` +
        `${summary.requests} requests, ${summary.non2xx} non-2xx ${JSON.stringify(summary.failures)}, ` +
        `writes acknowledged ${load.posted.size + load.patched.size} vs found ` +
        `${stored.titles.length + stored.version - versionBefore}, ` +
        `p50 ${summary.p50.toFixed(1)} ms, p99 ${summary.p99.toFixed(1)} ms${extra}\n`,
    );
    return stored;
  }

  // a new process took 60 s to be ready on the loaded CI machine (seconds on an idle one)
  it('rolling restart of the three hosts: no failed request, every acknowledged write once', async () => {
    const run = randomUUID();
    const versionBefore = (await storedWrites(db!, writer.id, run, postIds)).version;
    const h2 = new H2Clients(nginx!.httpsUrl, nginx!.ca, CONNECTIONS);
    try {
      const load = mixedLoad(h2, run);
      const exitCodes: (number | null)[] = [];
      const steps: string[] = [];
      for (let index = 0; index < HOSTS; index++) {
        await sleep(500);
        const stopping = Date.now();
        exitCodes.push(await apps[index]!.stop('SIGTERM', 30_000));
        apps[index] = undefined;
        const starting = Date.now();
        apps[index] = await start(index);
        steps.push(
          `${((starting - stopping) / 1000).toFixed(1)} s + ${((Date.now() - starting) / 1000).toFixed(1)} s`,
        );
      }
      await sleep(500);
      const done = await load.stop();
      const stored = await report(
        'multi-host rolling restart',
        run,
        done,
        versionBefore,
        `; drain + start of each host: ${steps.join(', ')}`,
      );

      expect(exitCodes).toEqual(Array(HOSTS).fill(0));
      expect(done.samples.length).toBeGreaterThan(300);
      expect(failuresOf(done.samples)).toEqual([]);
      expectEachWriteOnce(stored, done, versionBefore);
    } finally {
      h2.close();
    }
  }, 420_000);

  it('host loss: only requests sent to the lost host fail; every write, retried or not, once', async () => {
    const run = randomUUID();
    const versionBefore = (await storedWrites(db!, writer.id, run, postIds)).version;
    const lost = network!.hosts[HOSTS - 1];
    const h2 = new H2Clients(nginx!.httpsUrl, nginx!.ca, CONNECTIONS);
    try {
      const load = mixedLoad(h2, run, LOST_HOST_REQUEST_TIMEOUT_MS);
      // The host restarted last may still be out of nginx's rotation (the fail_timeout its
      // refused connections started): it is cut only once it serves this phase's requests.
      const servedByLost = () =>
        [...accessLogByRequestId(nginx!.accessLog())].some(
          ([id, { upstreams }]) => id.startsWith(run) && upstreams.includes(`${lost.address}:`),
        );
      for (let waited = 0; !servedByLost() && waited < 30_000; waited += 250) await sleep(250);
      expect(servedByLost()).toBe(true);
      await sleep(2_000);
      const cutAt = Date.now();
      cutLink(lost);
      await apps[HOSTS - 1]!.stop('SIGKILL');
      apps[HOSTS - 1] = undefined;
      await sleep(AFTER_CUT_MS);
      const done = await load.stop();

      // the client sends each unanswered write again with its key until it is acknowledged;
      // one the lost host had claimed waits (409) until the claim's lock times out
      const retried = await Promise.all(
        done.unacknowledged.map(async (write, index) => {
          for (let attempt = 0; attempt < RETRY_ATTEMPTS; attempt++) {
            const outcome = await load.send(
              index % CONNECTIONS,
              write,
              `${run}-retry${index}-${attempt}`,
            );
            if (isOk(outcome.status)) return outcome.status;
            await sleep(2_000);
          }
          return 'never acknowledged';
        }),
      );
      await sleep(500); // nginx logs a request when it ends, the client's cancels included
      const logged = accessLogByRequestId(nginx!.accessLog());
      const triedLost = (sample: LoadSample) =>
        logged.get(sample.requestId)?.upstreams.includes(`${lost.address}:`);
      const failures = failuresOf(done.samples);
      const inFlight = failures.filter((sample) => sample.startedAt < cutAt).length;
      const others = summarize(
        done.samples.filter((sample) => sample.startedAt >= cutAt && triedLost(sample) === false),
      );
      const stored = await report(
        'multi-host host loss',
        run,
        done,
        versionBefore,
        `; failed: ${inFlight} in flight at the cut, ${failures.length - inFlight} sent to the ` +
          `lost host after it; keyed writes retried ${retried.length}; after the cut the other ` +
          `hosts served ${others.requests} requests, ${others.non2xx} non-2xx, ` +
          `p50 ${others.p50.toFixed(1)} ms, p99 ${others.p99.toFixed(1)} ms`,
      );

      // every failure is a request nginx sent to the lost host that got no answer at all (the
      // client gave up, or nginx's gateway error): a lost host answers nothing, not even a 4xx
      expect(
        failures.filter(
          (sample) => !triedLost(sample) || !['timeout', 502, 504].includes(sample.status),
        ),
      ).toEqual([]);
      expect(others.non2xx).toBe(0);
      expect(others.requests).toBeGreaterThan(100);
      expect(retried.filter((status) => !isOk(status))).toEqual([]);
      // Every write, acknowledged by the load or by its retry, is applied exactly once: one the
      // lost host had committed was committed with its key's response, which the retry got.
      expectEachWriteOnce(stored, done, versionBefore);
    } finally {
      h2.close();
    }
  }, 300_000);
});
