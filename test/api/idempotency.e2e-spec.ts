import { randomUUID } from 'node:crypto';
import { DataSource } from 'typeorm';
import { importCsv, toCsv, trickyRows } from '../posts/csv-fixtures';
import { errorBody, TestUser } from '../utils/api-client';
import { startTestApp, TestApp } from '../utils/test-app';

describe('Idempotency-Key on POST and PATCH (e2e)', () => {
  let t: TestApp;
  let dataSource: DataSource;

  beforeAll(async () => {
    t = await startTestApp();
    dataSource = t.app.get(DataSource);
  });
  afterAll(() => t.close());

  const postsBy = async (user: TestUser): Promise<number> => {
    const [row] = (await dataSource.query(
      `SELECT count(*)::int AS count FROM posts WHERE author_id = $1`,
      [user.id],
    )) as { count: number }[];
    return row.count;
  };
  const createPost = (user: TestUser, key: string | undefined, body: object) =>
    t.api.post('/api/posts', body, {
      token: user.token,
      headers: key === undefined ? {} : { 'idempotency-key': key },
    });

  /**
   * Makes storing a response under `key` fail, as a database lost at that moment would (a
   * 503), until the returned function is called: a trigger of the test's own, on real rows.
   */
  const failStoringUnder = async (key: string): Promise<() => Promise<void>> => {
    const name = `fail_storing_${key.replace(/-/g, '_')}`;
    await dataSource.query(`CREATE FUNCTION ${name}() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN RAISE EXCEPTION 'storing the response failed' USING ERRCODE = '57P03'; END $$`);
    await dataSource.query(`CREATE TRIGGER ${name} BEFORE UPDATE ON idempotency_keys FOR EACH ROW
      WHEN (NEW.key = '${key}' AND NEW.status IS NOT NULL) EXECUTE FUNCTION ${name}()`);
    return async () => {
      await dataSource.query(`DROP TRIGGER ${name} ON idempotency_keys`);
      await dataSource.query(`DROP FUNCTION ${name}()`);
    };
  };

  it('applies a repeated POST once and answers it with the first response', async () => {
    const user = await t.api.createUser();
    const key = randomUUID();
    const first = await createPost(user, key, { title: 'once', body: 'b' });
    const again = await createPost(user, key, { title: 'once', body: 'b' });
    expect(first.status).toBe(201);
    expect(first.headers.get('idempotent-replayed')).toBeNull();
    expect(again.status).toBe(201);
    expect(again.headers.get('idempotent-replayed')).toBe('true');
    expect(again.headers.get('content-type')).toContain('application/json');
    expect(again.body).toEqual(first.body);
    expect(again.headers.get('x-request-id')).not.toBe(first.headers.get('x-request-id'));
    expect(await postsBy(user)).toBe(1);
  });

  it('applies concurrent duplicates once; every one gets the same post', async () => {
    const user = await t.api.createUser();
    const key = randomUUID();
    const responses = await Promise.all(
      Array.from({ length: 12 }, () => createPost(user, key, { title: 'race', body: 'b' })),
    );
    expect(responses.map((r) => r.status)).toEqual(Array(12).fill(201));
    expect(new Set(responses.map((r) => r.body.id)).size).toBe(1);
    expect(responses.filter((r) => r.headers.get('idempotent-replayed') === null)).toHaveLength(1);
    expect(await postsBy(user)).toBe(1);
  });

  it('422 in the error shape for the same key with another body', async () => {
    const user = await t.api.createUser();
    const key = randomUUID();
    expect((await createPost(user, key, { title: 'a', body: 'b' })).status).toBe(201);
    const other = await createPost(user, key, { title: 'a', body: 'changed' });
    expect(other.status).toBe(422);
    expect(other.body).toEqual(
      errorBody(
        422,
        'Idempotency-Key was already used with another request (method, URL or body differ)',
      ),
    );
    expect(await postsBy(user)).toBe(1);
  });

  it('keeps keys per user: the same key from two users creates two posts', async () => {
    const [alice, bob] = [await t.api.createUser(), await t.api.createUser()];
    const key = randomUUID();
    const a = await createPost(alice, key, { title: 'mine', body: 'b' });
    const b = await createPost(bob, key, { title: 'mine', body: 'b' });
    expect([a.status, b.status]).toEqual([201, 201]);
    expect(b.headers.get('idempotent-replayed')).toBeNull();
    expect(b.body.authorId).toBe(bob.id);
  });

  it('frees the key of a failed request: the corrected request with it runs', async () => {
    const user = await t.api.createUser();
    const key = randomUUID();
    expect((await createPost(user, key, { title: '', body: 'b' })).status).toBe(400);
    const fixed = await createPost(user, key, { title: 'fixed', body: 'b' });
    expect(fixed.status).toBe(201);
    expect(fixed.headers.get('idempotent-replayed')).toBeNull();
    expect(await postsBy(user)).toBe(1);
  });

  it('commits a POST with its stored response or not at all; the retry applies it once', async () => {
    const user = await t.api.createUser();
    const key = randomUUID();
    const stopFailing = await failStoringUnder(key);
    const failed = await createPost(user, key, { title: 'atomic', body: 'b' }).finally(stopFailing);
    expect(failed.status).toBe(503);
    expect(await postsBy(user)).toBe(0);

    const retried = await createPost(user, key, { title: 'atomic', body: 'b' });
    expect(retried.status).toBe(201);
    expect(retried.headers.get('idempotent-replayed')).toBeNull();
    const again = await createPost(user, key, { title: 'atomic', body: 'b' });
    expect(again.headers.get('idempotent-replayed')).toBe('true');
    expect(again.body).toEqual(retried.body);
    expect(await postsBy(user)).toBe(1);
  });

  it('rolls back a PATCH whose response was not stored: neither the row nor the cache change', async () => {
    const user = await t.api.createUser();
    const created = await createPost(user, undefined, { title: 'before', body: 'b' });
    const url = `/api/posts/${created.body.id}`;
    expect((await t.api.get(url)).body).toEqual(created.body); // now cached
    const key = randomUUID();
    const patch = () =>
      t.api.patch(
        url,
        { title: 'after' },
        { token: user.token, headers: { 'idempotency-key': key } },
      );
    const stopFailing = await failStoringUnder(key);
    const failed = await patch().finally(stopFailing);
    expect(failed.status).toBe(503);
    expect((await t.api.get(url)).body).toEqual(created.body);
    const [row] = (await dataSource.query(`SELECT title, version FROM posts WHERE id = $1`, [
      created.body.id,
    ])) as { title: string; version: number }[];
    expect(row).toEqual({ title: 'before', version: created.body.version });

    const retried = await patch();
    expect(retried.status).toBe(200);
    expect(retried.body).toMatchObject({ title: 'after', version: created.body.version + 1 });
    expect((await t.api.get(url)).body).toEqual(retried.body);
  });

  it('creates one post per request without the header', async () => {
    const user = await t.api.createUser();
    await createPost(user, undefined, { title: 'x', body: 'b' });
    await createPost(user, undefined, { title: 'x', body: 'b' });
    expect(await postsBy(user)).toBe(2);
  });

  it.each([
    ['empty', ''],
    ['longer than 255 characters', 'k'.repeat(256)],
    ['with a space', 'two words'],
    ['with a non-ASCII character', 'clé'],
  ])('400 for a key %s, nothing applied', async (_, key) => {
    const user = await t.api.createUser();
    const res = await t.api.request('POST', '/api/posts', {
      rawBody: Buffer.from(JSON.stringify({ title: 'x', body: 'b' })),
      token: user.token,
      headers: { 'content-type': 'application/json', 'idempotency-key': key },
    });
    expect(res.status).toBe(400);
    expect(res.body).toEqual(
      errorBody(400, 'Idempotency-Key must be 1 to 255 visible ASCII characters'),
    );
    expect(await postsBy(user)).toBe(0);
  });

  it('applies a repeated PATCH once (the version moves by one)', async () => {
    const user = await t.api.createUser();
    const created = await createPost(user, undefined, { title: 'v', body: 'b' });
    const key = randomUUID();
    const patch = () =>
      t.api.patch(
        `/api/posts/${created.body.id}`,
        { title: 'v2' },
        { token: user.token, headers: { 'idempotency-key': key } },
      );
    const first = await patch();
    const again = await patch();
    expect([first.status, again.status]).toEqual([200, 200]);
    expect(again.headers.get('idempotent-replayed')).toBe('true');
    expect(again.body).toEqual(first.body);
    expect(first.body.version).toBe(created.body.version + 1);
    const stored = await t.api.get(`/api/posts/${created.body.id}`);
    expect(stored.body.version).toBe(first.body.version);
  });

  it('applies a repeated CSV import once; another file under the key is a 422', async () => {
    const user = await t.api.createUser();
    const key = randomUUID();
    const csv = toCsv(trickyRows(500));
    const send = (body: string) =>
      t.api.request('POST', '/api/posts/import', {
        rawBody: body,
        token: user.token,
        headers: { 'content-type': 'text/csv', 'idempotency-key': key },
      });
    const first = await send(csv);
    const again = await send(csv);
    expect(first.status).toBe(201);
    expect(again.status).toBe(201);
    expect(again.headers.get('idempotent-replayed')).toBe('true');
    expect(again.body).toEqual(first.body);
    expect(await postsBy(user)).toBe(500);
    const other = await send(toCsv(trickyRows(10, 'other')));
    expect(other.status).toBe(422);
    expect(await postsBy(user)).toBe(500);
    expect((await importCsv(t.api, user.token, csv)).status).toBe(201);
    expect(await postsBy(user)).toBe(1_000);
  });

  it('documents the header and its answers in the OpenAPI document', async () => {
    const doc = (await t.api.get('/docs-json')).body;
    for (const operation of [
      doc.paths['/api/posts'].post,
      doc.paths['/api/posts/{id}'].patch,
      doc.paths['/api/posts/import'].post,
    ]) {
      expect(operation.parameters).toEqual(
        expect.arrayContaining([
          expect.objectContaining({ name: 'Idempotency-Key', in: 'header', required: false }),
        ]),
      );
      expect(Object.keys(operation.responses)).toEqual(
        expect.arrayContaining(['400', '409', '422']),
      );
    }
  });
});
