import { ChildProcess, execFile, spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { createClient } from '@redis/client';
import calculateSlot from 'cluster-key-slot';
import { freePort, sleep } from './net';

const run = promisify(execFile);

/**
 * How long a node may be silent before the others count it failed; a master's replica takes
 * over about this long after its master dies (Redis's default, 15 s, would make a failover
 * test wait that long).
 */
const NODE_TIMEOUT_MS = 1_000;

/** One `redis-server --cluster-enabled yes` of a {@link PrivateRedisCluster}. */
interface ClusterNode {
  port: number;
  child: ChildProcess;
}

/** A line of `CLUSTER NODES`: the node's port, whether it is a master, and whether it failed. */
interface NodeState {
  port: number;
  master: boolean;
  failed: boolean;
}

function connectTo(port: number) {
  return createClient({ socket: { host: '127.0.0.1', port, reconnectStrategy: false } });
}

/**
 * A Redis Cluster of the test's own: 3 masters and 3 replicas (`redis-server --cluster-enabled
 * yes` on free loopback ports, joined by `redis-cli --cluster create`), without persistence,
 * in a temporary folder for the nodes' cluster files. Masters are killed by their pid, and
 * {@link stop} kills every node it started, nothing else.
 */
export class PrivateRedisCluster {
  private constructor(
    private readonly nodes: ClusterNode[],
    private readonly folder: string,
  ) {}

  /** Starts the six nodes and creates the cluster; resolves once it reports `cluster_state:ok`. */
  static async start(): Promise<PrivateRedisCluster> {
    const folder = mkdtempSync(join(tmpdir(), 'loadstar-redis-cluster-'));
    const nodes: ClusterNode[] = [];
    const cluster = new PrivateRedisCluster(nodes, folder);
    try {
      for (let i = 0; i < 6; i++) nodes.push(await startNode(await freePort(), folder));
      await Promise.all(nodes.map(({ port }) => waitForPing(port)));
      const addresses = nodes.map(({ port }) => `127.0.0.1:${port}`);
      await run('redis-cli', [
        '--cluster',
        'create',
        ...addresses,
        '--cluster-replicas',
        '1',
        '--cluster-yes',
      ]);
      await cluster.waitUntilOk(30_000);
      await cluster.waitForReplication(30_000);
      return cluster;
    } catch (error) {
      await cluster.stop();
      throw error;
    }
  }

  /** `REDIS_CLUSTER_NODES`: every node's `host:port`. */
  get rootNodes(): string {
    return this.nodes.map(({ port }) => `127.0.0.1:${port}`).join(',');
  }

  /** The nodes as `CLUSTER NODES` on a live node sees them. */
  async states(): Promise<NodeState[]> {
    const live = this.nodes.filter(({ child }) => child.exitCode === null && !child.signalCode);
    const lines = await command(live[0].port, (client) => client.clusterNodes());
    return lines
      .trim()
      .split('\n')
      .map((line) => {
        const [, address, flags] = line.split(' ');
        const port = Number(/:(\d+)@/.exec(address)?.[1]);
        return { port, master: flags.includes('master'), failed: /\bfail\b/.test(flags) };
      });
  }

  /** Which master serves a key's slot now (`CLUSTER SLOTS` once, then computed here). */
  async masters(): Promise<(key: string) => number> {
    const ranges = await command(this.nodes[0].port, (client) => client.clusterSlots());
    return (key) => {
      const slot = calculateSlot(key);
      const range = ranges.find(({ from, to }) => from <= slot && slot <= to);
      if (!range) throw new Error(`no node serves slot ${slot}`);
      return range.master.port;
    };
  }

  /** Kills the node on `port` with SIGKILL, as a crash would; resolves once it is gone. */
  async kill(port: number): Promise<void> {
    const node = this.nodes.find((candidate) => candidate.port === port);
    if (!node || node.child.exitCode !== null || node.child.signalCode !== null) return;
    node.child.kill('SIGKILL');
    await once(node.child, 'exit');
  }

  /**
   * Resolves once another node has taken over the killed master on `port` (a live master
   * where it was, the dead one flagged failed) and the cluster is `ok` again.
   * @returns the new master's port
   */
  async waitForPromotion(port: number, timeoutMs: number): Promise<number> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const states = await this.states().catch(() => []);
      const dead = states.find((node) => node.port === port);
      const masters = states.filter((node) => node.master && !node.failed);
      if (dead?.failed && masters.length === 3 && (await this.isOk())) {
        const known = new Set(this.nodes.map((node) => node.port));
        const promoted = masters.find((node) => known.has(node.port) && node.port !== port);
        if (promoted) return promoted.port;
      }
      if (Date.now() > deadline) throw new Error(`no replica took over ${port} in ${timeoutMs} ms`);
      await sleep(50);
    }
  }

  /** Kills every node it started and removes their folder. */
  async stop(): Promise<void> {
    await Promise.all(this.nodes.map(({ port }) => this.kill(port)));
    rmSync(this.folder, { recursive: true, force: true });
  }

  private async isOk(): Promise<boolean> {
    const live = this.nodes.filter(({ child }) => child.exitCode === null && !child.signalCode);
    const infos = await Promise.all(
      live.map(({ port }) => command(port, (client) => client.clusterInfo()).catch(() => '')),
    );
    return infos.every((info) => info.includes('cluster_state:ok'));
  }

  /** A replica takes over only once it has synced with its master. */
  private async waitForReplication(timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const infos = await Promise.all(
        this.nodes.map(({ port }) => command(port, (client) => client.info('replication'))),
      );
      const replicas = infos.filter((info) => info.includes('role:slave'));
      if (
        replicas.length === 3 &&
        replicas.every((info) => info.includes('master_link_status:up'))
      ) {
        return;
      }
      if (Date.now() > deadline) throw new Error(`replicas not in sync within ${timeoutMs} ms`);
      await sleep(100);
    }
  }

  private async waitUntilOk(timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!(await this.isOk())) {
      if (Date.now() > deadline) throw new Error(`cluster not ok within ${timeoutMs} ms`);
      await sleep(100);
    }
  }
}

async function startNode(port: number, folder: string): Promise<ClusterNode> {
  const args = [
    '--port',
    String(port),
    '--bind',
    '127.0.0.1',
    '--cluster-enabled',
    'yes',
    '--cluster-config-file',
    join(folder, `nodes-${port}.conf`),
    '--cluster-node-timeout',
    String(NODE_TIMEOUT_MS),
    '--dir',
    folder,
    '--save',
    '',
    '--appendonly',
    'no',
  ];
  const child = spawn('redis-server', args, { stdio: 'ignore' });
  await new Promise<void>((resolve, reject) => {
    child.once('spawn', resolve);
    child.once('error', (error) =>
      reject(new Error(`redis-server could not start: ${error.message}`)),
    );
  });
  return { port, child };
}

async function waitForPing(port: number): Promise<void> {
  for (let attempt = 0; attempt < 100; attempt++) {
    if (await command(port, (client) => client.ping()).catch(() => undefined)) return;
    await sleep(50);
  }
  throw new Error(`redis-server on port ${port} did not answer`);
}

async function command<T>(
  port: number,
  send: (client: ReturnType<typeof connectTo>) => Promise<T>,
): Promise<T> {
  const client = connectTo(port);
  client.on('error', () => undefined);
  await client.connect();
  try {
    return await send(client);
  } finally {
    client.destroy();
  }
}
