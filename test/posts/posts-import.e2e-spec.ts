import { Readable } from 'node:stream';
import { DataSource } from 'typeorm';
import { PostsRepository } from '../../src/posts/posts.repository';
import { startTestApp, TestApp } from '../utils/test-app';
import { importCsv, PostRow, rowsDigest, storedPosts, toCsv, trickyRows } from './csv-fixtures';

const MiB = 1024 * 1024;
/**
 * The suite builds large files on the event loop the app shares with it; load shedding would
 * take that for overload and answer 503.
 */
const NO_SHEDDING = { SHED_EVENT_LOOP_DELAY_MS: '0' };

describe.each([
  ['in the worker pool', 'true'],
  ['on the main thread (WORKER_OFFLOAD=false)', 'false'],
])('POST /api/posts/import, parsing %s (e2e)', (_, offload) => {
  let t: TestApp;
  let dataSource: DataSource;

  beforeAll(async () => {
    t = await startTestApp({ ...NO_SHEDDING, WORKER_OFFLOAD: offload });
    dataSource = t.app.get(DataSource);
  });
  afterAll(() => t.close());

  it('imports rows with quotes, commas, line breaks and Unicode, in file order', async () => {
    const user = await t.api.createUser();
    const rows = trickyRows(3_000);
    const res = await importCsv(t.api, user.token, toCsv(rows, '\n'));
    expect(res.status).toBe(201);
    expect(res.body).toEqual({ imported: 3_000, failed: 0, errors: [] });
    expect(await storedPosts(dataSource, user.id)).toEqual({
      count: 3_000,
      digest: rowsDigest(rows),
    });
  });

  it('counts rejected rows and lists them with their line', async () => {
    const user = await t.api.createUser();
    const csv = [
      'title,body',
      'fine,"two',
      'lines"',
      ',no title',
      `${'t'.repeat(201)},long title`,
      `t,${'b'.repeat(100_001)}`,
      'only one field',
      'also fine,x',
    ].join('\n');
    const res = await importCsv(t.api, user.token, csv);
    expect(res.status).toBe(201);
    expect(res.body).toEqual({
      imported: 2,
      failed: 4,
      errors: [
        { line: 4, message: 'title must be 1–200 characters' },
        { line: 5, message: 'title must be 1–200 characters' },
        { line: 6, message: 'body must be at most 100000 characters' },
        { line: 7, message: 'expected 2 fields as in the header, found 1' },
      ],
    });
    expect((await storedPosts(dataSource, user.id)).count).toBe(2);
  });

  it.each([
    ['a wrong header', 'name,text\r\na,b\r\n', /^line 1: the header row must name/],
    ['an unclosed quote', 'title,body\na,b\nc,"never closed\nd,e\n', /^line 3: a quoted field/],
    ['a stray quote', 'title,body\na,b\nc,d"e\n', /^line 3: a quote inside an unquoted field/],
    [
      'binary junk',
      Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0]),
      /^line 2: binary data/,
    ],
    ['invalid UTF-8', Buffer.from([0x74, 0x2c, 0x62, 0x0a, 0xff, 0xfe]), /^line 2: invalid UTF-8/],
    ['an empty body', '', /^line 1: the body is empty/],
  ])('400 with the line for %s, importing nothing', async (_, body, message) => {
    const user = await t.api.createUser();
    const res = await importCsv(t.api, user.token, body);
    expect(res.status).toBe(400);
    expect(res.body).toMatchObject({ statusCode: 400, error: 'Bad Request', message });
    expect((await storedPosts(dataSource, user.id)).count).toBe(0);
  });

  it('lists the first 100 rejected rows and counts all of them', async () => {
    const user = await t.api.createUser();
    const res = await importCsv(t.api, user.token, `title,body\n${',x\n'.repeat(250)}ok,y\n`);
    expect(res.status).toBe(201);
    expect(res.body.imported).toBe(1);
    expect(res.body.failed).toBe(250);
    expect(res.body.errors).toHaveLength(100);
    expect(res.body.errors[99]).toEqual({ line: 101, message: expect.any(String) });
  });

  it('says how many rows went in before a malformed line deep in a large file', async () => {
    const user = await t.api.createUser();
    const rows = trickyRows(30_000);
    const valid = toCsv(rows, '\n');
    const brokenLine = valid.split('\n').length;
    const csv = `${valid}broken,"unclosed\n${toCsv(rows.slice(0, 10), '\n')}`;
    const res = await importCsv(t.api, user.token, csv);
    expect(res.status).toBe(400);
    expect(res.body.message).toMatch(new RegExp(`^line ${brokenLine}: `));
    const match = /; the (\d+) rows before it were imported$/.exec(res.body.message);
    expect(match).not.toBeNull();
    const stored = await storedPosts(dataSource, user.id);
    expect(stored.count).toBe(Number(match![1]));
    expect(stored.digest).toBe(rowsDigest(rows.slice(0, stored.count)));
  });
});

describe('POST /api/posts/import, limits and protocol (e2e)', () => {
  let t: TestApp;
  let dataSource: DataSource;

  beforeAll(async () => {
    t = await startTestApp(NO_SHEDDING);
    dataSource = t.app.get(DataSource);
  });
  afterAll(() => t.close());

  it('imports 100 000 rows exactly (count and content)', async () => {
    const user = await t.api.createUser();
    const rows = trickyRows(100_000);
    const res = await importCsv(t.api, user.token, toCsv(rows));
    expect(res.status).toBe(201);
    expect(res.body).toEqual({ imported: 100_000, failed: 0, errors: [] });
    expect(await storedPosts(dataSource, user.id)).toEqual({
      count: 100_000,
      digest: rowsDigest(rows),
    });
  }, 120_000);

  it('413 for a 60 MB body declared by Content-Length, before reading it', async () => {
    const user = await t.api.createUser();
    const body = Buffer.alloc(60 * MiB, 'a,b\n');
    const res = await importCsv(t.api, user.token, body);
    expect(res.status).toBe(413);
    expect(res.body).toMatchObject({ statusCode: 413, message: expect.stringMatching(/at most/) });
    expect((await storedPosts(dataSource, user.id)).count).toBe(0);
  }, 60_000);

  it('413 for a chunked body that grows past 50 MB', async () => {
    const user = await t.api.createUser();
    // One-field rows: rejected by validation, so the import spends its time reading.
    const rejectedRows = Buffer.alloc(MiB, `${'x'.repeat(1023)}\n`);
    const body = Readable.from(
      (function* () {
        yield Buffer.from('title,body\n');
        for (let i = 0; i < 60; i += 1) yield rejectedRows;
      })(),
    );
    const response = await fetch(new URL('/api/posts/import', t.url), {
      method: 'POST',
      headers: { 'content-type': 'text/csv', authorization: `Bearer ${user.token}` },
      body: Readable.toWeb(body) as ReadableStream,
      duplex: 'half',
    } as RequestInit);
    expect(response.status).toBe(413);
    expect(await response.json()).toMatchObject({ statusCode: 413, requestId: expect.any(String) });
  }, 60_000);

  it.each([
    ['application/json', '{"title":"a","body":"b"}'],
    ['text/plain', 'title,body\na,b\n'],
  ])('415 for Content-Type %s', async (contentType, body) => {
    const user = await t.api.createUser();
    const res = await importCsv(t.api, user.token, body, contentType);
    expect(res.status).toBe(415);
    expect(res.body).toMatchObject({ statusCode: 415, requestId: expect.any(String) });
  });

  it('401 without a token', async () => {
    const res = await t.api.request('POST', '/api/posts/import', {
      rawBody: 'title,body\na,b\n',
      headers: { 'content-type': 'text/csv' },
    });
    expect(res.status).toBe(401);
  });

  it('still answers 415 for text/csv on routes that do not import', async () => {
    const user = await t.api.createUser();
    const res = await t.api.request('POST', '/api/posts', {
      rawBody: 'title,body\na,b\n',
      token: user.token,
      headers: { 'content-type': 'text/csv' },
    });
    expect(res.status).toBe(415);
  });

  it('writes a batch and its count against the quota whole or not at all', async () => {
    const user = await t.api.createUser();
    const posts = t.app.get(PostsRepository);
    const quota = { rows: 1_000, windowMs: 60_000 };
    const good: PostRow[] = [
      ['first', 'x'],
      ['second', 'y'],
    ];
    const bad = JSON.stringify([...good, [null, 'a NULL title fails']]);
    await expect(posts.insertBatchWithinQuota(user.id, bad, 3, quota)).rejects.toThrow(
      /null value/,
    );
    expect((await storedPosts(dataSource, user.id)).count).toBe(0);
    expect((await posts.importQuotaState(user.id, quota)).left).toBe(1_000);
    await posts.insertBatchWithinQuota(user.id, JSON.stringify(good), 2, quota);
    expect(await storedPosts(dataSource, user.id)).toEqual({ count: 2, digest: rowsDigest(good) });
    expect((await posts.importQuotaState(user.id, quota)).left).toBe(998);
  });
});
