import { spawn } from 'node:child_process';
import { closeSync, openSync } from 'node:fs';
import { join } from 'node:path';
import { Client } from 'pg';
import { EmbeddedPostgres } from '@app/database';

/**
 * The bench's own databases, never the shared `test` one, so seeding and cleanup are safe;
 * quick runs seed a small one of their own, so they never replace the full run's million posts.
 */
export const BENCH_DATABASE = 'loadstar_bench';
export const QUICK_BENCH_DATABASE = 'loadstar_bench_quick';

export interface BenchDatabase {
  url: string;
  /** One line for the report. */
  description: string;
  close(): Promise<void>;
  /** For exits that cannot wait (deadline, Ctrl-C). */
  closeSync(): void;
}

export interface SeedSize {
  users: number;
  posts: number;
}

export interface SeedInfo extends SeedSize {
  /** Posts above this id were added by a scenario (imports) and are removed after it. */
  lastSeededPostId: number;
  /** Email of user 1, who logs in for the import (password of every seeded user). */
  email: string;
  password: string;
  reused: boolean;
}

/** Seeded users all share this password (see `src/database/seed.ts`). */
const SEED_PASSWORD = 'password123';
/** Bios are at most 1000 characters; at that length `GET /api/users/1` answers ≈ 1.1 KB. */
const BENCH_BIO = 'Benchmark profile. '.repeat(53).slice(0, 1000);

/**
 * `database` on the server of `DATABASE_URL` when it is set (created if missing), else in an
 * embedded cluster of its own under `.data/postgres-bench`, stopped again by {@link close}.
 */
export async function openBenchDatabase(
  repoRoot: string,
  database = BENCH_DATABASE,
  serverUrl = process.env.DATABASE_URL,
): Promise<BenchDatabase> {
  if (serverUrl) {
    const admin = new URL(serverUrl);
    admin.pathname = '/postgres';
    const client = new Client({ connectionString: admin.toString() });
    await client.connect();
    try {
      const { rowCount } = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [
        database,
      ]);
      if (rowCount === 0) await client.query(`CREATE DATABASE ${database}`);
    } finally {
      await client.end();
    }
    const url = new URL(serverUrl);
    url.pathname = `/${database}`;
    return {
      url: url.toString(),
      description: `server PostgreSQL at ${url.host}, database \`${database}\``,
      close: async () => undefined,
      closeSync: () => undefined,
    };
  }
  const embedded = new EmbeddedPostgres({
    dataDir: join(repoRoot, '.data', 'postgres-bench'),
    database,
  });
  const url = await embedded.start();
  return {
    url,
    description: `embedded PostgreSQL 18 (\`.data/postgres-bench\`), database \`${database}\``,
    close: () => embedded.stop(),
    closeSync: () => embedded.stopSync(),
  };
}

export async function withClient<T>(url: string, work: (client: Client) => Promise<T>): Promise<T> {
  const client = new Client({ connectionString: url });
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end();
  }
}

/**
 * Makes the bench database hold exactly `size`, seeded by `npm run seed` (which also applies
 * the migrations). An identical seed from an earlier run is reused: a 1M-row seed takes
 * about 30 s. User 1 gets a 1000-character bio so the cached read is a ≈ 1 KB JSON.
 */
export async function ensureSeed(
  repoRoot: string,
  url: string,
  size: SeedSize,
  logFile: string,
): Promise<SeedInfo> {
  const current = await withClient(url, async (client) => {
    const { rows } = await client.query<{ exists: boolean }>(
      `SELECT to_regclass('public.posts') IS NOT NULL AS exists`,
    );
    if (!rows[0].exists) return undefined;
    const [counts] = (
      await client.query<{ users: number; posts: number; first: number | null }>(
        `SELECT (SELECT count(*)::int FROM users) AS users, (SELECT count(*)::int FROM posts) AS posts,
                (SELECT min(id) FROM users) AS first`,
      )
    ).rows;
    return counts;
  });
  const reused =
    current?.users === size.users && current.posts === size.posts && current.first === 1;
  if (!reused) {
    if (current) {
      await withClient(url, (client) =>
        client.query('TRUNCATE follows, posts, users RESTART IDENTITY CASCADE'),
      );
    }
    await runSeed(repoRoot, url, size, logFile);
  }
  return withClient(url, async (client) => {
    await client.query('UPDATE users SET name = $1, bio = $2 WHERE id = 1', [
      'Bench User',
      BENCH_BIO,
    ]);
    const { rows } = await client.query<{ email: string; last: number | null }>(
      `SELECT (SELECT email FROM users WHERE id = 1) AS email, (SELECT max(id) FROM posts) AS last`,
    );
    return {
      ...size,
      lastSeededPostId: rows[0].last ?? 0,
      email: rows[0].email,
      password: SEED_PASSWORD,
      reused,
    };
  });
}

/** A 1M-row seed takes about 30 s here; a hung one must not hold the run. */
const SEED_TIMEOUT_MS = 240_000;

function runSeed(repoRoot: string, url: string, size: SeedSize, logFile: string): Promise<void> {
  const fd = openSync(logFile, 'w');
  const child = spawn(
    'npm',
    [
      'run',
      'seed',
      '--',
      '--users',
      String(size.users),
      '--posts',
      String(size.posts),
      '--follows',
      '0',
    ],
    {
      cwd: repoRoot,
      // The seed script is type-checked by tsc in CI; here only its run time matters.
      env: {
        ...process.env,
        DATABASE_URL: url,
        NODE_ENV: 'development',
        // set-based inserts of 100 000s of rows outlast the app's 5 s default on a busy machine
        DB_STATEMENT_TIMEOUT_MS: String(SEED_TIMEOUT_MS),
        TS_NODE_TRANSPILE_ONLY: 'true',
      },
      stdio: ['ignore', fd, fd],
      // its own process group: npm runs ts-node as a child, and a timeout stops both
      detached: true,
    },
  );
  closeSync(fd);
  return new Promise((resolve, reject) => {
    const timer = setTimeout(
      () => child.pid && process.kill(-child.pid, 'SIGKILL'),
      SEED_TIMEOUT_MS,
    );
    child.once('error', reject);
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      if (code === 0) resolve();
      else reject(new Error(`npm run seed ended with ${code ?? signal}; see ${logFile}`));
    });
  });
}

/** Removes what a scenario added (imported posts), so every scenario sees the same seed. */
export async function removePostsAfter(url: string, lastSeededPostId: number): Promise<void> {
  await withClient(url, (client) =>
    client.query('DELETE FROM posts WHERE id > $1', [lastSeededPostId]),
  );
}
