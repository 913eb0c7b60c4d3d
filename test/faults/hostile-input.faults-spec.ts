import { brotliDecompressSync, gunzipSync, inflateSync } from 'node:zlib';
import fc from 'fast-check';
import { Client } from 'pg';
import { Pool } from 'undici';
import { TestUser } from '../utils/api-client';
import { AppProcess, startAppProcess } from '../utils/app-process';
import { RELAXED_RATE_LIMITS } from '../utils/rate-limits';
import { errorShapeProblem } from './support/contract';
import { Caller, hostileRequests, HostileRequest } from './support/hostile-requests';
import { hostileTokens } from './support/jwt';
import { ScenarioReport } from './support/report';

const RUNS = 5_000;
const SEED = Number(process.env.FAULTS_FUZZ_SEED ?? Date.now() % 2_147_483_647);

/** The text of a body as the server encoded it (the fuzz asks for br and gzip too). */
function decode(raw: Buffer, encoding: string | string[] | undefined): string {
  if (encoding === 'br') return brotliDecompressSync(raw).toString();
  if (encoding === 'gzip') return gunzipSync(raw).toString();
  if (encoding === 'deflate') return inflateSync(raw).toString();
  return raw.toString();
}

/** A sent request and its answer, kept to account for every change afterwards. */
interface Exchange {
  method: string;
  path: string;
  caller: Caller;
  status: number;
  json: any;
}

/** The rows of A and B: their users, posts and follows, read straight from PostgreSQL. */
async function snapshot(db: Client, ids: number[]) {
  const users = await db.query(
    'SELECT id, email, password_hash, name, bio, version FROM users WHERE id = ANY($1) ORDER BY id',
    [ids],
  );
  const posts = await db.query(
    'SELECT id, author_id, title, body, version FROM posts WHERE author_id = ANY($1) ORDER BY id',
    [ids],
  );
  const follows = await db.query(
    `SELECT follower_id, followee_id FROM follows
     WHERE follower_id = ANY($1) OR followee_id = ANY($1) ORDER BY 1, 2`,
    [ids],
  );
  return { users: users.rows, posts: posts.rows, follows: follows.rows };
}

type Snapshot = Awaited<ReturnType<typeof snapshot>>;

/**
 * Differences between the rows after the fuzz and the rows before changed by the requests the
 * API accepted (2xx), which can only be A's: A's token is the only valid credential the fuzzer
 * holds. Imported posts have no ids in the answer, so they are matched by count.
 */
function unexplainedChanges(
  before: Snapshot,
  after: Snapshot,
  exchanges: readonly Exchange[],
  a: number,
): string[] {
  const users = new Map(before.users.map((u) => [u.id, { ...u }]));
  const posts = new Map(before.posts.map((p) => [p.id, { ...p }]));
  const follows = new Set(before.follows.map((f) => `${f.follower_id}->${f.followee_id}`));
  let imported = 0;
  for (const { method, path, status, json } of exchanges) {
    if (status < 200 || status >= 300 || method === 'GET' || method === 'HEAD') continue;
    const post = /^\/api\/posts\/(\d+)$/.exec(path);
    const follow = /^\/api\/users\/(\d+)\/follow$/.exec(path);
    if (method === 'PATCH' && json?.email !== undefined) {
      const row = users.get(json.id)!;
      Object.assign(row, { name: json.name, bio: json.bio, version: row.version + 1 });
    } else if (method === 'PATCH' && post) {
      const row = posts.get(json.id)!;
      Object.assign(row, { title: json.title, body: json.body, version: row.version + 1 });
    } else if (method === 'DELETE' && post) {
      posts.delete(Number(post[1]));
    } else if (method === 'POST' && path === '/api/posts') {
      posts.set(json.id, {
        id: json.id,
        author_id: a,
        title: json.title,
        body: json.body,
        version: 1,
      });
    } else if (method === 'POST' && path === '/api/posts/import') {
      imported += Number(json?.imported ?? 0);
    } else if (follow && method === 'PUT') {
      follows.add(`${a}->${follow[1]}`);
    } else if (follow && method === 'DELETE') {
      follows.delete(`${a}->${follow[1]}`);
    }
  }
  const problems: string[] = [];
  for (const row of after.users) {
    if (JSON.stringify(row) !== JSON.stringify(users.get(row.id))) problems.push(`user ${row.id}`);
  }
  for (const row of after.posts) {
    const expected = posts.get(row.id);
    posts.delete(row.id);
    if (expected === undefined && row.author_id === a && imported > 0) imported--;
    else if (JSON.stringify(row) !== JSON.stringify(expected)) problems.push(`post ${row.id}`);
  }
  problems.push(...[...posts.keys()].map((id) => `post ${id} missing`));
  const followsAfter = new Set(after.follows.map((f) => `${f.follower_id}->${f.followee_id}`));
  for (const edge of new Set([...follows, ...followsAfter])) {
    if (follows.has(edge) !== followsAfter.has(edge)) problems.push(`follow ${edge}`);
  }
  return problems;
}

describe('hostile input fuzz', () => {
  const report = new ScenarioReport(6, `Hostile input fuzz (fast-check, ${RUNS} runs)`);
  let app: AppProcess;
  let db: Client;
  let a: TestUser;
  let b: TestUser;
  let before: Snapshot;
  let after: Snapshot;
  const exchanges: Exchange[] = [];
  let failure: string | undefined;

  report.setup(async () => {
    app = await startAppProcess({ ...RELAXED_RATE_LIMITS, LOG_LEVEL: 'fatal' });
    db = new Client({ connectionString: process.env.DATABASE_URL });
    await db.connect();
    [a, b] = await Promise.all([app.api.createUser('Fuzz A'), app.api.createUser('Fuzz B')]);
    const posts: number[] = [];
    for (const user of [a, b, a, b]) {
      const res = await app.api.post(
        '/api/posts',
        { title: 't', body: 'b' },
        { token: user.token },
      );
      posts.push(res.body.id);
    }
    await app.api.put(`/api/users/${b.id}/follow`, { token: a.token });
    before = await snapshot(db, [a.id, b.id]);

    const forged = hostileTokens(a.token, a.id, b.id);
    const authorization: Record<Caller, string | undefined> = {
      none: undefined,
      valid: `Bearer ${a.token}`,
      tampered: `Bearer ${forged['tampered signature']}`,
      'alg-none': `Bearer ${forged['alg none']}`,
      expired: `Bearer ${forged.expired}`,
      'odd-header': `Basic ${Buffer.from('a:b').toString('base64')}`,
    };
    const client = new Pool(app.url, {
      connections: 1,
      headersTimeout: 15_000,
      bodyTimeout: 15_000,
    });
    const statuses = new Map<string, number>();
    const send = async (request: HostileRequest): Promise<string | undefined> => {
      const auth = authorization[request.caller];
      let status = 0;
      let text = '';
      let headers: Record<string, string | string[] | undefined> = {};
      try {
        const response = await client.request({
          method: request.method,
          path: request.path,
          headers: { ...request.headers, ...(auth === undefined ? {} : { authorization: auth }) },
          body: request.body,
        });
        ({ statusCode: status, headers } = response);
        text = decode(Buffer.from(await response.body.arrayBuffer()), headers['content-encoding']);
      } catch (error) {
        text = (error as { code?: string }).code ?? String(error);
      }
      statuses.set(String(status), (statuses.get(String(status)) ?? 0) + 1);
      let json: unknown;
      try {
        json = JSON.parse(text);
      } catch {
        json = undefined;
      }
      exchanges.push({
        method: request.method,
        path: request.path,
        caller: request.caller,
        status,
        json,
      });
      if (app.child.exitCode !== null || app.child.signalCode !== null)
        return 'the app process died';
      if (status === 0) return `no response: ${text}`;
      if (status >= 500) return `${status}: ${text.slice(0, 500)}`;
      if (status >= 400 && request.method !== 'HEAD')
        return errorShapeProblem(status, headers, text);
      return undefined;
    };
    try {
      await fc.assert(
        fc.asyncProperty(hostileRequests({ users: [a.id, b.id], posts }), async (request) => {
          const problem = await send(request);
          if (problem) throw new Error(problem);
        }),
        { numRuns: RUNS, seed: SEED, endOnFailure: false },
      );
    } catch (error) {
      const { message, cause } = error as Error;
      failure = cause instanceof Error ? `${message}\nGot error: ${cause.message}` : message;
    } finally {
      await client.destroy();
    }
    after = await snapshot(db, [a.id, b.id]);
    report.addStatuses(statuses);
    report.lost = unexplainedChanges(before, after, exchanges, a.id).length;
    const accepted = exchanges.filter(
      (e) => e.status >= 200 && e.status < 300 && !['GET', 'HEAD'].includes(e.method),
    );
    report.note(
      `seed ${SEED} (rerun with FAULTS_FUZZ_SEED=${SEED}); ${exchanges.length} requests; ` +
        `${accepted.length} writes accepted, all by A's valid token, replayed against the snapshot`,
    );
    if (failure) {
      const lines = failure.split('\n').filter((line) => /Counterexample|Got error/.test(line));
      report.note(`failure, shrunk: ${lines.join(' ').slice(0, 2_000)}`);
    }
  }, 600_000);

  afterAll(async () => {
    await db?.end();
    await app?.stop();
  });

  report.check(`${RUNS} generated requests: no 5xx, every error in the contract shape`, () => {
    expect(failure).toBeUndefined();
    expect(exchanges.length).toBeGreaterThanOrEqual(RUNS);
  });

  report.check('no crash: the same process serves normally afterwards', async () => {
    expect(app.child.exitCode).toBeNull();
    expect((await app.api.get('/api/config')).status).toBe(200);
    const user = await app.api.get(`/api/users/${b.id}`);
    expect(Object.keys(user.body).sort()).toEqual(['bio', 'createdAt', 'id', 'name', 'updatedAt']);
  });

  report.check('nothing stored changed except by the requests the API accepted', () => {
    expect(unexplainedChanges(before, after, exchanges, a.id)).toEqual([]);
    expect(after.users.find((u) => u.id === b.id)).toEqual(before.users.find((u) => u.id === b.id));
  });

  report.check('no prototype pollution: an empty update still changes nothing', async () => {
    const res = await app.api.patch(`/api/users/${a.id}`, {}, { token: a.token });
    expect(res.status).toBe(400);
    expect(JSON.stringify(after)).not.toContain('polluted');
  });
});
