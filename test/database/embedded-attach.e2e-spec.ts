import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, rm } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { Client } from 'pg';
import { EMBEDDED_DATABASE_NAME, EmbeddedPostgres } from '@app/database';
import { migratedDataSource } from '../setup/test-database';

const execFileAsync = promisify(execFile);
const ROOT = resolve(__dirname, '..', '..');

async function countUsers(url: string): Promise<number> {
  const client = new Client({ connectionString: url });
  await client.connect();
  try {
    const { rows } = await client.query<{ n: number }>('SELECT count(*)::int AS n FROM users');
    return rows[0].n;
  } finally {
    await client.end();
  }
}

/**
 * `npm run seed` (and the TypeORM CLI, through the same `createStandaloneDataSource`) beside a
 * running zero-config app: it attaches to the app's embedded cluster and leaves it running;
 * with none running it starts its own and stops it at its exit.
 */
describe('scripts on the embedded PostgreSQL (e2e)', () => {
  // The scripts find the embedded cluster at <cwd>/.data/postgres, as the app does.
  const workDir = join(ROOT, '.data', `attach-test-${process.pid}`);
  let app: EmbeddedPostgres;
  let url: string;

  const seed = () =>
    execFileAsync(
      process.execPath,
      [
        '-r',
        require.resolve('ts-node/register'),
        '-r',
        require.resolve('tsconfig-paths/register'),
        join(ROOT, 'src', 'database', 'seed.ts'),
        '--users=1',
        '--posts=1',
        '--follows=0',
      ],
      {
        cwd: workDir,
        env: {
          ...process.env,
          DATABASE_URL: '',
          REDIS_URL: '',
          TS_NODE_PROJECT: join(ROOT, 'tsconfig.json'),
          TS_NODE_TRANSPILE_ONLY: 'true',
        },
      },
    );

  beforeAll(async () => {
    // as root in a checkout the postgres user cannot enter, the cluster's data lives elsewhere
    // and nothing creates the scripts' working folder
    await mkdir(workDir, { recursive: true });
    app = new EmbeddedPostgres({
      dataDir: join(workDir, '.data', 'postgres'),
      database: EMBEDDED_DATABASE_NAME,
    });
    url = await app.start();
    await (await migratedDataSource(url)).destroy();
  });

  afterAll(async () => {
    await app?.stop();
    if (app) await rm(app.dataDirectory, { recursive: true, force: true });
    await rm(workDir, { recursive: true, force: true });
  });

  it('seeds the running cluster and leaves it running', async () => {
    const { stdout, stderr } = await seed();

    expect(await countUsers(url)).toBe(1);
    expect(`${stdout}${stderr}`).toContain('attaching to it');
  }, 120_000);

  it('starts a cluster of its own when none runs, and stops it at its exit', async () => {
    await app.stop();

    const { stdout, stderr } = await seed();

    expect(`${stdout}${stderr}`).toContain('Embedded PostgreSQL started');
    expect(existsSync(join(app.dataDirectory, 'postmaster.pid'))).toBe(false);
    url = await app.start();
    expect(await countUsers(url)).toBe(2);
  }, 120_000);
});
