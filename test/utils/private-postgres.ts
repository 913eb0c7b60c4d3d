import { execFile } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { chmod, chown, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Client } from 'pg';
import { freePort } from './net';

const execFileAsync = promisify(execFile);

/** Debian keeps each PostgreSQL major version's server binaries under this folder. */
const DEBIAN_PG_ROOT = '/usr/lib/postgresql';

function newestDebianPgBinDir(): string {
  const versions = existsSync(DEBIAN_PG_ROOT) ? readdirSync(DEBIAN_PG_ROOT) : [];
  const newest = versions.sort((a, b) => Number(a) - Number(b)).at(-1) ?? '15';
  return join(DEBIAN_PG_ROOT, newest, 'bin');
}

/** The machine's PostgreSQL server binaries (facts.md); override with `TEST_PG_BIN_DIR`. */
const PG_BIN_DIR = process.env.TEST_PG_BIN_DIR ?? newestDebianPgBinDir();
/** `postgres` must be able to enter every folder on the way to the data. */
const BASE_DIR = '/var/tmp/loadstar-private-pg';
const DATABASE = 'private_test';

interface OsUser {
  uid: number;
  gid: number;
}

/**
 * A PostgreSQL cluster of a test's own, on a fixed free port, so the test can stop and start it
 * (the same port each time) without touching the shared server; {@link standby} makes a
 * streaming replica of it. As root the binaries run as the `postgres` OS user, because
 * PostgreSQL refuses to run as root.
 */
export class PrivatePostgres {
  private constructor(
    readonly port: number,
    private readonly dataDir: string,
    private readonly runAs: OsUser | undefined,
    private readonly tls: boolean,
  ) {}

  /** `postgres://…/private_test` of the cluster. */
  get url(): string {
    return `postgres://postgres@127.0.0.1:${this.port}/${DATABASE}`;
  }

  /**
   * Creates, starts and returns a fresh cluster with an empty `private_test` database; with
   * `tls`, the server also accepts TLS with that certificate (PEM text) and key.
   */
  static async create(
    options: { tls?: { cert: string; key: string } } = {},
  ): Promise<PrivatePostgres> {
    if (!existsSync(join(PG_BIN_DIR, 'initdb'))) {
      throw new Error(`PostgreSQL server binaries not found in ${PG_BIN_DIR} (TEST_PG_BIN_DIR)`);
    }
    const { dataDir, runAs } = await newDataDir();
    const server = new PrivatePostgres(await freePort(), dataDir, runAs, options.tls !== undefined);
    await server.run('initdb', [
      `--pgdata=${dataDir}`,
      '--username=postgres',
      '--auth=trust',
      '--encoding=UTF8',
      '--locale=C',
      '--no-sync',
    ]);
    if (options.tls) {
      // PostgreSQL's defaults ssl_cert_file / ssl_key_file: in the data folder, the key
      // readable by its owner only
      for (const [name, text, mode] of [
        ['server.crt', options.tls.cert, 0o644],
        ['server.key', options.tls.key, 0o600],
      ] as const) {
        await writeFile(join(dataDir, name), text, { mode });
        if (runAs) await chown(join(dataDir, name), runAs.uid, runAs.gid);
      }
    }
    await server.start();
    const client = new Client({ host: '127.0.0.1', port: server.port, user: 'postgres' });
    await client.connect();
    await client.query(`CREATE DATABASE ${DATABASE}`);
    await client.end();
    return server;
  }

  /**
   * A hot standby of this cluster on a port of its own: a copy made with `pg_basebackup -R`
   * (which writes `standby.signal` and `primary_conninfo`), started, streaming and replaying
   * the primary's WAL. `destroy()` it before the primary.
   */
  async standby(): Promise<PrivatePostgres> {
    const { dataDir, runAs } = await newDataDir();
    const standby = new PrivatePostgres(await freePort(), dataDir, runAs, this.tls);
    await standby.run('pg_basebackup', [
      `--dbname=postgres://postgres@127.0.0.1:${this.port}/postgres`,
      `--pgdata=${dataDir}`,
      '--write-recovery-conf',
      '--wal-method=stream',
      '--checkpoint=fast',
      '--no-sync',
    ]);
    await standby.start();
    return standby;
  }

  /** On a standby: stops (`true`) or resumes replaying the WAL it receives. */
  async pauseReplay(paused: boolean): Promise<void> {
    await this.query((client) =>
      client.query(paused ? 'SELECT pg_wal_replay_pause()' : 'SELECT pg_wal_replay_resume()'),
    );
  }

  async start(): Promise<void> {
    await this.run('pg_ctl', [
      'start',
      '--wait',
      '--timeout=30',
      `--pgdata=${this.dataDir}`,
      `--log=${join(this.dataDir, 'server.log')}`,
      `--options=-p ${this.port} -c listen_addresses=127.0.0.1 -c unix_socket_directories='' -c fsync=off -c max_connections=60 -c ssl=${this.tls ? 'on' : 'off'}`,
    ]);
  }

  /** `immediate` is a crash (no checkpoint, recovery at the next start); `fast` a clean stop. */
  async stop(mode: 'fast' | 'immediate' = 'fast'): Promise<void> {
    await this.run('pg_ctl', ['stop', '--wait', `--mode=${mode}`, `--pgdata=${this.dataDir}`]);
  }

  /** A client on the cluster's database, for checks behind the app's back. */
  async connect(): Promise<Client> {
    const client = new Client({ connectionString: this.url });
    // A test that stops the server would otherwise crash on the client's error event.
    client.on('error', () => undefined);
    await client.connect();
    return client;
  }

  /** Runs `work` on a fresh connection, closed afterwards. */
  async query<T>(work: (client: Client) => Promise<T>): Promise<T> {
    const client = await this.connect();
    try {
      return await work(client);
    } finally {
      await client.end();
    }
  }

  /** Stops the cluster if it runs and removes its folder. */
  async destroy(): Promise<void> {
    await this.stop('immediate').catch(() => undefined);
    await rm(this.dataDir, { recursive: true, force: true });
  }

  private async run(binary: 'initdb' | 'pg_ctl' | 'pg_basebackup', args: string[]): Promise<void> {
    try {
      await execFileAsync(join(PG_BIN_DIR, binary), args, {
        uid: this.runAs?.uid,
        gid: this.runAs?.gid,
        cwd: this.dataDir,
        env: { ...process.env, LC_ALL: 'C', LANG: 'C' },
      });
    } catch (error) {
      const { stderr, stdout } = error as { stderr?: string; stdout?: string };
      throw new Error(`${binary} ${args[0]} failed: ${(stderr || stdout || String(error)).trim()}`);
    }
  }
}

/** An empty folder for a cluster's data, owned by whoever runs PostgreSQL, mode 0700. */
async function newDataDir(): Promise<{ dataDir: string; runAs: OsUser | undefined }> {
  const runAs = process.getuid?.() === 0 ? await postgresUser() : undefined;
  await mkdir(BASE_DIR, { recursive: true, mode: 0o755 });
  await chmod(BASE_DIR, 0o755);
  const dataDir = await mkdtemp(join(BASE_DIR, `pg-${process.pid}-`));
  await chmod(dataDir, 0o700);
  if (runAs) await chown(dataDir, runAs.uid, runAs.gid);
  return { dataDir, runAs };
}

async function postgresUser(): Promise<OsUser> {
  const id = async (flag: string) =>
    Number((await execFileAsync('id', [flag, 'postgres'])).stdout.trim());
  return { uid: await id('-u'), gid: await id('-g') };
}
