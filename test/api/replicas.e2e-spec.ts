import { parseEnvironment } from '@app/config';
import { buildDataSourceOptions } from '@app/database';
import { Client } from 'pg';
import { DataSource } from 'typeorm';
import { ENTITIES, MIGRATIONS } from '../../src/database/schema';
import { startTestApp, TestApp } from '../utils/test-app';

/**
 * A second database stands in for a read replica with rows the primary does not have, so the
 * test can tell which server answered.
 */
describe('read replicas (e2e)', () => {
  let t: TestApp;
  let replicaAuthorId: number;
  const primaryUrl = new URL(process.env.DATABASE_URL!);
  const replicaUrl = new URL(primaryUrl);
  replicaUrl.pathname = `${primaryUrl.pathname}_replica`;

  beforeAll(async () => {
    const admin = new Client({ connectionString: primaryUrl.toString() });
    await admin.connect();
    const name = replicaUrl.pathname.slice(1);
    const { rowCount } = await admin.query('SELECT 1 FROM pg_database WHERE datname = $1', [name]);
    if (rowCount === 0) await admin.query(`CREATE DATABASE "${name}"`);
    await admin.end();

    const config = parseEnvironment(process.env).database;
    const replica = new DataSource(
      buildDataSourceOptions(
        { config, entities: ENTITIES, migrations: MIGRATIONS },
        replicaUrl.toString(),
      ),
    );
    await replica.initialize();
    const [user] = await replica.query(
      `INSERT INTO users (email, password_hash, name) VALUES ('replica-' || gen_random_uuid() || '@example.test', 'x', 'Replica') RETURNING id`,
    );
    replicaAuthorId = user.id;
    await replica.query(
      `INSERT INTO posts (id, author_id, title, body) VALUES (2000000000 - $1, $1, 'only on the replica', 'b')`,
      [replicaAuthorId],
    );
    await replica.destroy();

    t = await startTestApp({ DATABASE_REPLICA_URLS: replicaUrl.toString() });
  });
  afterAll(() => t?.close());

  it('serves post lists from the replica', async () => {
    const res = await t.api.get(`/api/posts?authorId=${replicaAuthorId}`);
    expect(res.status).toBe(200);
    expect(res.body.items.map((p: { title: string }) => p.title)).toEqual(['only on the replica']);
  });

  it('serves reads by id and all writes from the primary', async () => {
    const res = await t.api.get(`/api/posts/${2_000_000_000 - replicaAuthorId}`);
    expect(res.status).toBe(404);
    const user = await t.api.createUser();
    const created = await t.api.post(
      '/api/posts',
      { title: 'primary', body: 'b' },
      { token: user.token },
    );
    expect((await t.api.get(`/api/posts/${created.body.id}`)).body.title).toBe('primary');
  });
});
