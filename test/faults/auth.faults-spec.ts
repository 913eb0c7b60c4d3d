import { Client } from 'pg';
import { TestUser } from '../utils/api-client';
import { AppProcess, startAppProcess } from '../utils/app-process';
import { RELAXED_RATE_LIMITS } from '../utils/rate-limits';
import { errorShapeProblem } from './support/contract';
import { hostileTokens } from './support/jwt';
import { LoadResult, probe } from './support/load';
import { ScenarioReport } from './support/report';

/** Every route that needs a token, with a body that would be valid from the right caller. */
function protectedRoutes(a: TestUser, b: TestUser, postOfA: number) {
  return [
    { method: 'GET', path: '/api/users/me' },
    { method: 'PATCH', path: `/api/users/${a.id}`, body: { bio: 'forged' } },
    { method: 'POST', path: '/api/posts', body: { title: 'forged', body: 'forged' } },
    { method: 'PATCH', path: `/api/posts/${postOfA}`, body: { title: 'forged' } },
    { method: 'DELETE', path: `/api/posts/${postOfA}` },
    { method: 'PUT', path: `/api/users/${b.id}/follow` },
    { method: 'DELETE', path: `/api/users/${b.id}/follow` },
  ] as const;
}

/** What an attacker may read about B: every read route that touches B, cached or not. */
function readRoutes(b: TestUser, postOfB: number) {
  return [
    `/api/users/${b.id}`,
    `/api/users?ids=${b.id}`,
    `/api/users/${b.id}/dashboard`,
    `/api/posts/${postOfB}`,
    `/api/posts?authorId=${b.id}`,
    `/api/posts/export?format=ndjson&authorId=${b.id}`,
  ];
}

describe('auth under attack', () => {
  const report = new ScenarioReport(7, 'Auth: forged tokens, other users’ resources and data');
  let app: AppProcess;
  let db: Client;
  let a: TestUser;
  let b: TestUser;
  let postOfA: number;
  let postOfB: number;
  let bRowsBefore: unknown;
  const forged: { name: string; route: string; result: LoadResult }[] = [];
  const forbidden: LoadResult[] = [];
  const reads: { who: string; result: LoadResult }[] = [];

  const bRows = async () => ({
    user: (await db.query('SELECT * FROM users WHERE id = $1', [b.id])).rows,
    posts: (await db.query('SELECT * FROM posts WHERE author_id = $1 ORDER BY id', [b.id])).rows,
    follows: (
      await db.query('SELECT * FROM follows WHERE follower_id = $1 OR followee_id = $1', [b.id])
    ).rows,
  });

  const send = (method: string, path: string, token?: string, body?: unknown) =>
    probe(app.url, path, {
      method: method as 'GET',
      headers: {
        ...(token === undefined ? {} : { authorization: `Bearer ${token}` }),
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      body: body === undefined ? undefined : JSON.stringify(body),
    });

  report.setup(async () => {
    app = await startAppProcess(RELAXED_RATE_LIMITS);
    db = new Client({ connectionString: process.env.DATABASE_URL });
    await db.connect();
    [a, b] = await Promise.all([app.api.createUser('Attacker A'), app.api.createUser('Victim B')]);
    postOfA = (await app.api.post('/api/posts', { title: 'A', body: 'A' }, { token: a.token })).body
      .id;
    postOfB = (await app.api.post('/api/posts', { title: 'B', body: 'B' }, { token: b.token })).body
      .id;
    bRowsBefore = await bRows();

    for (const [name, token] of Object.entries(hostileTokens(a.token, a.id, b.id))) {
      for (const route of protectedRoutes(a, b, postOfA)) {
        const body = 'body' in route ? route.body : undefined;
        const result = await send(route.method, route.path, token, body);
        forged.push({ name, route: `${route.method} ${route.path}`, result });
      }
    }
    forbidden.push(
      await send('PATCH', `/api/users/${b.id}`, a.token, { bio: 'hacked by A' }),
      await send('PATCH', `/api/posts/${postOfB}`, a.token, { title: 'hacked by A' }),
      await send('DELETE', `/api/posts/${postOfB}`, a.token),
    );
    // B warms every cache first, then A and an anonymous client read the same routes twice.
    for (const token of [b.token, a.token, a.token, undefined]) {
      const who = token === b.token ? 'B' : token ? 'A' : 'anonymous';
      reads.push({ who, result: await send('GET', '/api/users/me', token) });
    }
    for (const who of ['B', 'A', 'anonymous', 'A', 'anonymous']) {
      const token = who === 'B' ? b.token : who === 'A' ? a.token : undefined;
      for (const path of readRoutes(b, postOfB)) {
        reads.push({ who, result: await send('GET', path, token) });
      }
    }
    report.addStatuses(
      [...forged.map((f) => f.result), ...forbidden, ...reads.map((r) => r.result)].map(
        (r) => [String(r.status), 1] as [string, number],
      ),
    );
    const changed = JSON.stringify(await bRows()) !== JSON.stringify(bRowsBefore);
    report.lost = changed ? 1 : 0;
    report.note(
      `${Object.keys(hostileTokens(a.token, a.id, b.id)).length} kinds of forged token × ` +
        `${protectedRoutes(a, b, postOfA).length} protected routes; ${reads.length} reads of B's routes by B, A and anonymous`,
    );
  });

  afterAll(async () => {
    await db?.end();
    await app?.stop();
  });

  report.check(
    'tampered, expired, alg:none and otherwise forged tokens get 401 in the contract shape',
    () => {
      const wrong = forged.filter(
        ({ result }) =>
          result.status !== 401 ||
          errorShapeProblem(result.status, result.headers, result.text) !== undefined,
      );
      expect(
        wrong.map((f) => `${f.name} → ${f.route}: ${f.result.status} ${f.result.text}`),
      ).toEqual([]);
    },
  );

  report.check(
    'A cannot PATCH or DELETE B’s profile or posts (403), and B’s rows are unchanged',
    async () => {
      expect(forbidden.map((r) => r.status)).toEqual([403, 403, 403]);
      for (const r of forbidden)
        expect(errorShapeProblem(r.status, r.headers, r.text)).toBeUndefined();
      expect(await bRows()).toEqual(bRowsBefore);
    },
  );

  report.check('/api/users/me answers each caller with their own data, anonymous with 401', () => {
    const me = reads.filter((r) => r.result.request.path === '/api/users/me');
    expect(me.map((r) => [r.who, r.result.status])).toEqual([
      ['B', 200],
      ['A', 200],
      ['A', 200],
      ['anonymous', 401],
    ]);
    expect(me.map((r) => JSON.parse(r.result.text).email ?? null)).toEqual([
      b.email.toLowerCase(),
      a.email.toLowerCase(),
      a.email.toLowerCase(),
      null,
    ]);
  });

  report.check('no read by A or anonymous, cached or not, carries B’s private data', () => {
    const leaks = reads.filter(
      ({ who, result }) =>
        who !== 'B' &&
        (result.text.toLowerCase().includes(b.email.toLowerCase()) ||
          /password|scrypt\$/i.test(result.text)),
    );
    expect(leaks.map(({ who, result }) => `${who} ${result.request.path}`)).toEqual([]);
    expect(reads.filter(({ result }) => result.status >= 500)).toEqual([]);
  });
});
