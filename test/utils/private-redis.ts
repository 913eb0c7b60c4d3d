import { ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { createClient } from '@redis/client';
import { freePort, sleep } from './net';

/** Options of {@link PrivateRedis.start}. */
export interface PrivateRedisOptions {
  /** `requirepass`: clients must authenticate (a URL-safe value; `url` carries it). */
  password?: string;
  /** Also listen with TLS on a second port (`tlsUrl`), with these PEM files. */
  tls?: { certFile: string; keyFile: string; caFile: string };
  /**
   * Addresses to listen on besides 127.0.0.1 (e.g. the root ends of network namespaces'
   * links). Clients there need a `password`: without one, protected mode refuses them.
   */
  alsoBind?: string[];
  /** More arguments after the port's (e.g. `['--replicaof', '127.0.0.1', '6380']`). */
  args?: string[];
  /**
   * A configuration file to start from instead of standard input: a sentinel
   * (`args: ['--sentinel']`) rewrites its own and refuses to start without one.
   */
  configFile?: string;
}

function connectTo(url: string) {
  return createClient({ url, socket: { reconnectStrategy: false } });
}

/** A short-lived connection of the test's own to a {@link PrivateRedis}. */
export type TestRedisClient = ReturnType<typeof connectTo>;

/**
 * A `redis-server` of the test's own on a free port, without persistence, for outages the
 * shared Redis must never suffer: killed, frozen and restarted by its pid, nothing else.
 */
export class PrivateRedis {
  private child?: ChildProcess;

  private constructor(
    readonly port: number,
    private readonly options: PrivateRedisOptions,
    /** The TLS port, when started with `tls`. */
    readonly tlsPort?: number,
  ) {}

  static async start(options: PrivateRedisOptions = {}, port?: number): Promise<PrivateRedis> {
    const tlsPort = options.tls ? await freePort() : undefined;
    const redis = new PrivateRedis(port ?? (await freePort()), options, tlsPort);
    await redis.restart();
    return redis;
  }

  /** `redis://` on the plain port, with the password when there is one. */
  get url(): string {
    return this.urlOn('127.0.0.1');
  }

  /** `redis://` on the plain port at `address`, one of 127.0.0.1 and `alsoBind`. */
  urlOn(address: string): string {
    return `redis://${this.credentials}${address}:${this.port}`;
  }

  /** `rediss://` on the TLS port (started with `tls`), with the password when there is one. */
  get tlsUrl(): string {
    if (this.tlsPort === undefined) throw new Error('this redis-server has no TLS port');
    return `rediss://${this.credentials}127.0.0.1:${this.tlsPort}`;
  }

  private get credentials(): string {
    return this.options.password ? `:${encodeURIComponent(this.options.password)}@` : '';
  }

  /** Starts the server (again, empty) on the same port and waits until it answers. */
  async restart(): Promise<void> {
    const { password, tls, configFile = '-' } = this.options;
    const args = [
      '--port',
      String(this.port),
      '--bind',
      ['127.0.0.1', ...(this.options.alsoBind ?? [])].join(' '),
      '--save',
      '',
      '--appendonly',
      'no',
    ];
    if (tls) {
      args.push('--tls-port', String(this.tlsPort), '--tls-cert-file', tls.certFile);
      args.push('--tls-key-file', tls.keyFile, '--tls-ca-cert-file', tls.caFile);
      args.push('--tls-auth-clients', 'no');
    }
    args.push(...(this.options.args ?? []));
    // read from stdin, so the password is not on the command line (`ps`)
    const child = spawn('redis-server', [configFile, ...args], {
      stdio: ['pipe', 'ignore', 'ignore'],
    });
    child.stdin?.end(password ? `requirepass ${password}\n` : '');
    this.child = child;
    let spawnError: Error | undefined;
    child.once('error', (error) => (spawnError = error));
    for (let attempt = 0; attempt < 100; attempt++) {
      if (spawnError) throw new Error(`redis-server could not start: ${spawnError.message}`);
      if (child.exitCode !== null) throw new Error(`redis-server exited with ${child.exitCode}`);
      if (await this.command((client) => client.ping()).catch(() => undefined)) return;
      await sleep(50);
    }
    throw new Error(`redis-server on port ${this.port} did not answer`);
  }

  /** The process's id while it runs. */
  get pid(): number | undefined {
    return this.child?.pid;
  }

  /** Kills the server, as a crash would; resolves once it is gone. */
  async kill(): Promise<void> {
    const child = this.child;
    this.child = undefined;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    child.kill('SIGCONT');
    child.kill('SIGKILL');
    await once(child, 'exit');
  }

  /** Freezes the server: connections stay open, commands get no answer. */
  pause(): void {
    this.child?.kill('SIGSTOP');
  }

  resume(): void {
    this.child?.kill('SIGCONT');
  }

  /** One command on a short-lived connection of the test's own. */
  async command<T>(run: (client: TestRedisClient) => Promise<T>): Promise<T> {
    const client = connectTo(this.url);
    client.on('error', () => undefined);
    await client.connect();
    try {
      return await run(client);
    } finally {
      // a sentinel reconfiguring the server closes its clients (CLIENT KILL TYPE normal)
      if (client.isOpen) client.destroy();
    }
  }

  /** How many times Redis ran `command` so far (`INFO commandstats`). */
  async calls(command: string): Promise<number> {
    const stats = await this.command((client) => client.info('commandstats'));
    return Number(new RegExp(`cmdstat_${command}:calls=(\\d+)`).exec(stats)?.[1] ?? 0);
  }

  /** Client connections other than the one asking. */
  async clientCount(): Promise<number> {
    const list = await this.command((client) => client.clientList());
    return list.length - 1;
  }

  /** Keys naming `id` (cache entries of that entity), rate-limit counters aside. */
  async keysMentioning(id: number): Promise<number> {
    const mentions = new RegExp(`\\b${id}\\b`);
    const keys = await this.command((client) => client.keys('*'));
    return keys.filter((key) => mentions.test(key) && !key.includes('rate-limit')).length;
  }
}
