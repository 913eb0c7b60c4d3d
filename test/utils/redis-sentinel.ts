import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, sleep } from './net';
import { PrivateRedis } from './private-redis';

/** Options of {@link RedisSentinelTopology.start}. */
export interface RedisSentinelTopologyOptions {
  /** @default 'mymaster' */
  masterName?: string;
  /**
   * Sentinel's `down-after-milliseconds`: how long the primary must be silent before a
   * failover starts. Production setups use 5–30 s; a test wants the failover quickly.
   * @default 1000
   */
  downAfterMs?: number;
  /**
   * `requirepass` of every server and sentinel (the replicas' `masterauth`, the sentinels'
   * `auth-pass` too): clients must authenticate to both. A URL-safe value.
   */
  password?: string;
}

/**
 * A Redis primary, its replica and three sentinels (quorum 2), each a `redis-server` of the
 * test's own on a free loopback port, without persistence: the smallest topology on which a
 * sentinel failover happens as in production. Stopped only by {@link stop}, by pid.
 */
export class RedisSentinelTopology {
  private constructor(
    readonly masterName: string,
    private readonly password: string | undefined,
    /** The first primary, then the first replica; {@link primary} says which leads now. */
    readonly servers: PrivateRedis[],
    readonly sentinels: PrivateRedis[],
    private readonly dir: string,
  ) {}

  static async start(options: RedisSentinelTopologyOptions = {}): Promise<RedisSentinelTopology> {
    const masterName = options.masterName ?? 'mymaster';
    const { password } = options;
    const masterAuth = password ? ['--masterauth', password] : [];
    const dir = await mkdtemp(join(tmpdir(), 'loadstar-sentinel-'));
    const started: PrivateRedis[] = [];
    try {
      // a replica writes the data it syncs to its directory: one of the topology's own each
      const dataDir = async (name: string) => {
        await mkdir(join(dir, name));
        return ['--dir', join(dir, name)];
      };
      // masterauth on both: after a failover the old primary replicates the new one
      const primary = await PrivateRedis.start({
        password,
        args: [...masterAuth, ...(await dataDir('a'))],
      });
      started.push(primary);
      const replica = await PrivateRedis.start({
        password,
        args: [
          '--replicaof',
          '127.0.0.1',
          String(primary.port),
          ...masterAuth,
          ...(await dataDir('b')),
        ],
      });
      started.push(replica);
      const sentinels: PrivateRedis[] = [];
      for (let i = 0; i < 3; i++) {
        const port = await freePort();
        const configFile = join(dir, `sentinel-${port}.conf`);
        await writeFile(
          configFile,
          [
            `sentinel monitor ${masterName} 127.0.0.1 ${primary.port} 2`,
            `sentinel down-after-milliseconds ${masterName} ${options.downAfterMs ?? 1_000}`,
            `sentinel failover-timeout ${masterName} 10000`,
            `sentinel parallel-syncs ${masterName} 1`,
            // a sentinel authenticates to its peers with its own requirepass
            ...(password
              ? [`sentinel auth-pass ${masterName} ${password}`, `requirepass ${password}`]
              : []),
            '',
          ].join('\n'),
        );
        const sentinel = await PrivateRedis.start(
          { configFile, password, args: ['--sentinel'] },
          port,
        );
        started.push(sentinel);
        sentinels.push(sentinel);
      }
      const topology = new RedisSentinelTopology(
        masterName,
        password,
        [primary, replica],
        sentinels,
        dir,
      );
      await topology.waitUntilWatched();
      return topology;
    } catch (error) {
      await Promise.all(started.map((server) => server.kill()));
      await rm(dir, { recursive: true, force: true });
      throw error;
    }
  }

  /** `REDIS_SENTINELS`, `REDIS_SENTINEL_MASTER` and the passwords for an app on this topology. */
  get env(): Record<string, string> {
    return {
      REDIS_SENTINELS: this.sentinels.map((sentinel) => `127.0.0.1:${sentinel.port}`).join(','),
      REDIS_SENTINEL_MASTER: this.masterName,
      ...(this.password && {
        REDIS_SENTINEL_MASTER_PASSWORD: this.password,
        REDIS_SENTINEL_PASSWORD: this.password,
      }),
    };
  }

  /** The port of the primary as the first sentinel names it now. */
  async primaryPort(): Promise<number> {
    const reply = await this.sentinels[0].command((client) =>
      client.sendCommand(['SENTINEL', 'GET-MASTER-ADDR-BY-NAME', this.masterName]),
    );
    return Number((reply as unknown as string[])[1]);
  }

  /** The server that leads now. */
  async primary(): Promise<PrivateRedis> {
    const port = await this.primaryPort();
    const server = this.servers.find((candidate) => candidate.port === port);
    if (!server) throw new Error(`the sentinels name an unknown primary on port ${port}`);
    return server;
  }

  /**
   * Resolves once every sentinel names a primary other than the one on `oldPort` and that
   * server answers as a primary; gives up after `timeoutMs`.
   */
  async waitForPromotion(oldPort: number, timeoutMs = 30_000): Promise<PrivateRedis> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      const ports = await Promise.all(
        this.sentinels.map((sentinel) =>
          sentinel
            .command((client) =>
              client.sendCommand(['SENTINEL', 'GET-MASTER-ADDR-BY-NAME', this.masterName]),
            )
            .then((reply) => Number((reply as unknown as string[])[1]))
            .catch(() => oldPort),
        ),
      );
      const promoted = this.servers.find((server) => server.port === ports[0]);
      if (promoted && ports.every((port) => port === promoted.port) && promoted.port !== oldPort) {
        const role = await promoted.command((client) => client.info('replication'));
        if (role.includes('role:master')) return promoted;
      }
      await sleep(50);
    }
    throw new Error(`no sentinel failover within ${timeoutMs} ms`);
  }

  /** Resolves once `server` replicates the current primary, in sync (it was made a replica). */
  async waitUntilReplicated(server: PrivateRedis, timeoutMs = 30_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      const primaryPort = await this.primaryPort();
      // the sentinels close the server's clients while they make it a replica: ask again
      const replication = await server
        .command((client) => client.info('replication'))
        .catch(() => '');
      if (
        replication.includes('role:slave') &&
        replication.includes(`master_port:${primaryPort}`) &&
        replication.includes('master_link_status:up')
      ) {
        return;
      }
      await sleep(100);
    }
    throw new Error(`port ${server.port} did not become an in-sync replica within ${timeoutMs} ms`);
  }

  async stop(): Promise<void> {
    await Promise.all([...this.sentinels, ...this.servers].map((server) => server.kill()));
    await rm(this.dir, { recursive: true, force: true });
  }

  /**
   * Every sentinel knows the other two and the replica, and the replica is in sync: before
   * that a failover could not be agreed on, or would promote an empty replica.
   */
  private async waitUntilWatched(timeoutMs = 30_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      const states = await Promise.all(
        this.sentinels.map((sentinel) =>
          sentinel.command((client) => client.sendCommand(['SENTINEL', 'MASTER', this.masterName])),
        ),
      );
      const watched = states.every((state) => {
        const fields = state as unknown as string[];
        const field = (name: string) => fields[fields.indexOf(name) + 1];
        return field('num-other-sentinels') === '2' && field('num-slaves') === '1';
      });
      const replication = await this.servers[1].command((client) => client.info('replication'));
      if (watched && replication.includes('master_link_status:up')) return;
      await sleep(100);
    }
    throw new Error(`the sentinels did not see each other and the replica within ${timeoutMs} ms`);
  }
}
