import { ChildProcess, execFile, spawn } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { readdir, readFile } from 'node:fs/promises';
import { connect } from 'node:net';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { freePort, sleep } from '../test/utils/net';

const run = promisify(execFile);

/** A Redis Cluster the bench started: its seed nodes as `REDIS_CLUSTER_NODES` wants them. */
export interface BenchRedisCluster {
  nodes: string;
  stop(): Promise<void>;
}

/** A process the bench started; only the bench stops it, by its pid. */
export interface BenchProcess {
  name: string;
  pid: number;
  port: number;
  url: string;
  logFile: string;
  /** Resident memory of the process and every descendant (cluster workers, threads are inside). */
  rssMb(): Promise<number>;
  /** SIGTERM, then SIGKILL after `graceMs`. */
  stop(graceMs?: number): Promise<void>;
  /** The last lines the process wrote, for error messages. */
  tail(lines?: number): string;
}

export interface NodeProcessSpec {
  name: string;
  /** Compiled entry file, absolute. */
  entry: string;
  env: Record<string, string | undefined>;
  /** Answers 200 once the process serves. */
  readyPath: string;
  nodeArgs?: string[];
  timeoutMs?: number;
}

/**
 * Starts and stops every child process of a run. Whatever is still running when the bench
 * ends (an error, Ctrl-C, the deadline) is killed by pid from {@link killAll}.
 */
export class ProcessRegistry {
  private readonly running = new Map<number, ChildProcess>();

  constructor(
    private readonly repoRoot: string,
    private readonly logDir: string,
    /** Compiled app and peers (see `buildForBench`). */
    private readonly buildDir: string,
    private readonly log: (message: string) => void = () => undefined,
  ) {}

  /** A file in the run's log folder (kept after the run for a closer look). */
  logPath(file: string): string {
    return join(this.logDir, file);
  }

  /** A compiled file of the app or the peers, e.g. `src/main.js`. */
  entry(path: string): string {
    return join(this.buildDir, path);
  }

  async startNode(spec: NodeProcessSpec): Promise<BenchProcess> {
    const port = await freePort();
    return this.launch(
      spec.name,
      port,
      process.execPath,
      [...(spec.nodeArgs ?? []), spec.entry],
      { ...process.env, HOST: '127.0.0.1', ...spec.env, PORT: String(port) },
      async (url) => {
        const response = await fetch(url + spec.readyPath, { signal: AbortSignal.timeout(2_000) });
        await response.arrayBuffer();
        return response.status === 200;
      },
      spec.timeoutMs ?? 60_000,
    );
  }

  /** A private Redis without persistence, so the bench never touches a shared keyspace. */
  async startRedis(): Promise<BenchProcess> {
    const port = await freePort();
    const started = await this.launch(
      'redis',
      port,
      'redis-server',
      ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'],
      process.env,
      () => redisPing(port),
      10_000,
    );
    return { ...started, url: `redis://127.0.0.1:${port}` };
  }

  /**
   * A private Redis Cluster of `masters` masters without replicas (replication would take CPU
   * from the measured app, and the bench kills nothing), joined by `redis-cli --cluster create`.
   */
  async startRedisCluster(masters = 3): Promise<BenchRedisCluster> {
    const folder = mkdtempSync(join(tmpdir(), 'loadstar-bench-cluster-'));
    const nodes: BenchProcess[] = [];
    const stop = async () => {
      await Promise.all(nodes.map((node) => node.stop()));
      rmSync(folder, { recursive: true, force: true });
    };
    try {
      for (let i = 0; i < masters; i++) {
        const port = await freePort();
        const args = ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly'];
        args.push('no', '--cluster-enabled', 'yes', '--dir', folder);
        args.push('--cluster-config-file', join(folder, `nodes-${port}.conf`));
        const started = this.launch(
          `redis-cluster-${i}`,
          port,
          'redis-server',
          args,
          process.env,
          () => redisPing(port),
          10_000,
        );
        nodes.push(await started);
      }
      const addresses = nodes.map(({ port }) => `127.0.0.1:${port}`);
      await run('redis-cli', ['--cluster', 'create', ...addresses, '--cluster-yes']);
      for (let attempt = 0; ; attempt++) {
        const infos = await Promise.all(
          nodes.map(({ port }) => run('redis-cli', ['-p', String(port), 'cluster', 'info'])),
        );
        if (infos.every(({ stdout }) => stdout.includes('cluster_state:ok'))) break;
        if (attempt > 100) throw new Error("the bench's Redis Cluster is not ok after 10 s");
        await sleep(100);
      }
      return { nodes: addresses.join(','), stop };
    } catch (error) {
      await stop();
      throw error;
    }
  }

  /** Synchronous, so it also works from an `exit` handler. */
  killAll(): void {
    for (const [pid, child] of this.running) {
      if (child.exitCode === null && child.signalCode === null) process.kill(pid, 'SIGKILL');
    }
    this.running.clear();
  }

  private async launch(
    name: string,
    port: number,
    command: string,
    args: string[],
    env: NodeJS.ProcessEnv,
    isReady: (url: string) => Promise<boolean>,
    timeoutMs: number,
  ): Promise<BenchProcess> {
    const logFile = join(this.logDir, `${name}.log`);
    const fd = openSync(logFile, 'w');
    const child = spawn(command, args, { cwd: this.repoRoot, env, stdio: ['ignore', fd, fd] });
    closeSync(fd);
    const exited = new Promise<void>((done) => child.once('exit', () => done()));
    const failedToSpawn = new Promise<Error>((done) => child.once('error', done));
    let ended = false;
    void exited.then(() => (ended = true));
    if (child.pid === undefined) throw await failedToSpawn;
    const pid = child.pid;
    this.running.set(pid, child);

    const tail = (lines = 20) =>
      readFileSync(logFile, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
    const stop = async (graceMs = 5_000) => {
      if (!ended) child.kill('SIGTERM');
      const timer = setTimeout(() => !ended && child.kill('SIGKILL'), graceMs);
      await exited;
      clearTimeout(timer);
      this.running.delete(pid);
    };

    const url = `http://127.0.0.1:${port}`;
    const startedAt = Date.now();
    const deadline = startedAt + timeoutMs;
    for (;;) {
      if (ended) throw new Error(`${name} exited before it was ready:\n${tail()}`);
      if (await isReady(url).catch(() => false)) break;
      if (Date.now() > deadline) {
        await stop(0);
        throw new Error(`${name} not ready within ${timeoutMs} ms:\n${tail()}`);
      }
      await sleep(100);
    }
    this.log(`${name} ready in ${((Date.now() - startedAt) / 1000).toFixed(1)} s (pid ${pid})`);
    return { name, pid, port, url, logFile, rssMb: () => treeRssMb(pid), stop, tail };
  }
}

function redisPing(port: number): Promise<boolean> {
  return new Promise((done) => {
    const socket = connect(port, '127.0.0.1', () => socket.write('PING\r\n'));
    socket.setTimeout(1_000, () => socket.destroy());
    socket.once('data', (data) => {
      socket.destroy();
      done(data.toString().startsWith('+PONG'));
    });
    socket.once('error', () => done(false));
    socket.once('close', () => done(false));
  });
}

async function descendants(pid: number): Promise<number[]> {
  const tasks = await readdir(`/proc/${pid}/task`).catch(() => [] as string[]);
  const children: number[] = [];
  for (const task of tasks) {
    const text = await readFile(`/proc/${pid}/task/${task}/children`, 'utf8').catch(() => '');
    for (const child of text.split(' ').filter(Boolean).map(Number)) {
      children.push(child, ...(await descendants(child)));
    }
  }
  return children;
}

async function rssKb(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8').catch(() => '');
  return Number(/^VmRSS:\s+(\d+)/m.exec(status)?.[1] ?? 0);
}

/** Resident set of `pid` and all its descendants, from /proc (Linux). */
export async function treeRssMb(pid: number): Promise<number> {
  const pids = [pid, ...(await descendants(pid))];
  const kb = await Promise.all(pids.map(rssKb));
  return kb.reduce((sum, value) => sum + value, 0) / 1024;
}

/** Number of processes below `pid` (a cluster primary's workers). */
export async function childCount(pid: number): Promise<number> {
  return (await descendants(pid)).length;
}
