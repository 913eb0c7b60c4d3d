import { execFile } from 'node:child_process';
import { resolve } from 'node:path';
import { promisify } from 'node:util';
import { Client } from 'pg';
import { DataSource } from 'typeorm';
import { migratedDataSource } from '../setup/test-database';

const execFileAsync = promisify(execFile);
const ROOT = resolve(__dirname, '..', '..');

/**
 * The entities declare everything the migrations create (indexes, unique index, checks,
 * foreign keys, with the same names), so `npm run migration:generate` on an unchanged tree
 * finds nothing to do instead of drafting a migration that drops them.
 */
describe('schema drift (e2e)', () => {
  const database = `drift_${process.pid}_test`;
  let admin: Client;
  let url: string;
  let dataSource: DataSource;

  beforeAll(async () => {
    const shared = new URL(process.env.DATABASE_URL!);
    admin = new Client({ connectionString: process.env.DATABASE_URL });
    await admin.connect();
    await admin.query(`CREATE DATABASE ${database}`);
    shared.pathname = `/${database}`;
    url = shared.toString();
    dataSource = await migratedDataSource(url);
  });

  afterAll(async () => {
    await dataSource?.destroy();
    await admin.query(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`);
    await admin.end();
  });

  it('finds no difference between the entities and a freshly migrated database', async () => {
    const { upQueries } = await dataSource.driver.createSchemaBuilder().log();

    expect(upQueries.map(({ query }) => query)).toEqual([]);
  });

  it('`npm run migration:check` passes there, and fails once the database lacks a constraint', async () => {
    const check = () =>
      execFileAsync('npm', ['run', '--silent', 'migration:check'], {
        cwd: ROOT,
        env: { ...process.env, DATABASE_URL: url, TS_NODE_TRANSPILE_ONLY: 'true' },
      });

    await expect(check()).resolves.toMatchObject({
      stdout: expect.stringContaining('No changes in database schema were found'),
    });

    await dataSource.query(`ALTER TABLE follows DROP CONSTRAINT follows_not_self`);
    await expect(check()).rejects.toMatchObject({
      stdout: expect.stringContaining('follows_not_self'),
    });
  }, 120_000);
});
