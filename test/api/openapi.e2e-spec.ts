import { ApiClient, ApiResponse, TestUser } from '../utils/api-client';
import { startTestApp, TestApp } from '../utils/test-app';

interface Operation {
  parameters?: { in: string; name: string }[];
  requestBody?: unknown;
  responses: Record<string, { content?: Record<string, { schema?: { $ref?: string } }> }>;
}
type Document = {
  paths: Record<string, Record<string, Operation>>;
  components: { schemas: Record<string, unknown> };
};

/** Query parameters of the domain routes, sent malformed to every route. */
const QUERY_NAMES = ['ids', 'limit', 'cursor', 'authorId', 'format'];

/** Probes in flight at once (the default tier is relaxed for tests, so none is limited). */
const PROBES_AT_ONCE = 8;

/** A body twice the default 1 MB limit. */
const OVERSIZED = JSON.stringify({ title: 'x'.repeat(2 * 1024 * 1024) });

/**
 * The OpenAPI document against the running app: each route is sent the bad requests a client
 * can send (no or another user's token, malformed and out-of-range ids, malformed query values,
 * malformed, unknown-field and oversized bodies), and every error it answers must be among the
 * statuses the document gives it, with the error schema.
 */
describe('OpenAPI document: documented error answers (e2e)', () => {
  let t: TestApp;
  let api: ApiClient;
  let document: Document;
  let me: TestUser;
  let other: TestUser;
  let othersPost: number;

  beforeAll(async () => {
    t = await startTestApp();
    api = t.api;
    document = (await api.get<Document>('/docs-json')).body;
    me = await api.createUser('Me');
    other = await api.createUser('Other');
    othersPost = (await api.post('/api/posts', { title: 't', body: 'b' }, { token: other.token }))
      .body.id;
  });
  afterAll(() => t?.close());

  /** Every documented operation under `/api`, as `[METHOD path, operation]`. */
  function apiOperations(): [string, string, Operation][] {
    return Object.entries(document.paths)
      .filter(([path]) => path.startsWith('/api'))
      .flatMap(([path, item]) =>
        Object.entries(item).map(([method, operation]) => [method, path, operation]),
      ) as [string, string, Operation][];
  }

  /** The requests a careless or hostile client sends to one route. */
  function probes(method: string, path: string, operation: Operation) {
    const othersId = path.startsWith('/api/posts') ? othersPost : other.id;
    const ids = ['abc', '0', '2147483648', '999999999', String(othersId)];
    // the documented query parameters, and the ones of the routes' DTOs (documented only by
    // the Swagger CLI plugin of `nest build`, not under ts-jest)
    const names = (operation.parameters ?? [])
      .filter((parameter) => parameter.in === 'query')
      .map((parameter) => parameter.name);
    const query = [...names, ...QUERY_NAMES].map((name) => `${name}=%E2%88%9E-not-valid`).join('&');
    const paths = path.includes('{id}') ? ids.map((id) => path.replace('{id}', id)) : [path];
    const sent: { url: string; token?: string; rawBody?: string }[] = [];
    for (const url of paths) {
      for (const token of [undefined, me.token]) {
        sent.push({ url, token });
        if (query) sent.push({ url: `${url}?${query}`, token });
        if (operation.requestBody) {
          sent.push({ url, token, rawBody: '{"title":' });
          sent.push({ url, token, rawBody: '{"unknownField":1}' });
          sent.push({ url, token, rawBody: OVERSIZED });
        }
      }
    }
    return sent.map(({ url, token, rawBody }) => ({
      label: `${method.toUpperCase()} ${url}${rawBody ? ` (body ${rawBody.slice(0, 16)}…)` : ''}`,
      send: (): Promise<ApiResponse> =>
        api.request(method.toUpperCase(), url, { token, rawBody, errorBodyOnly: true }),
    }));
  }

  it('has the ErrorResponse schema of docs/api.md', () => {
    expect(document.components.schemas.ErrorResponse).toMatchObject({
      type: 'object',
      required: ['statusCode', 'error', 'message', 'requestId'],
    });
  });

  it('documents every error a route answers, with the error schema', async () => {
    const sent = apiOperations().flatMap(([method, path, operation]) =>
      probes(method, path, operation).map((probe) => ({ probe, operation })),
    );
    const undocumented: string[] = [];
    let errors = 0;
    // a few at a time: several hundred probes one by one outlast the test's time on a busy CI
    for (let i = 0; i < sent.length; i += PROBES_AT_ONCE) {
      const batch = sent.slice(i, i + PROBES_AT_ONCE);
      const answers = await Promise.all(batch.map(({ probe }) => probe.send()));
      answers.forEach((res, j) => {
        if (res.status < 400) return;
        errors += 1;
        const { probe, operation } = batch[j];
        const documented = operation.responses[String(res.status)];
        const schema = documented?.content?.['application/json']?.schema?.$ref;
        if (schema !== '#/components/schemas/ErrorResponse') {
          undocumented.push(`${probe.label} answered ${res.status}`);
        }
      });
    }
    expect(undocumented).toEqual([]);
    // the probes did reach the error paths (400, 401, 403, 404, 413 among them)
    expect(errors).toBeGreaterThan(100);
    // several hundred requests, 2 MB bodies among them: seconds alone, more on a busy CI
  }, 120_000);

  it.each([
    ['post', '/api/auth/register', ['400', '409', '413', '429']],
    ['post', '/api/auth/login', ['400', '401', '413', '429']],
    ['patch', '/api/users/{id}', ['400', '401', '403', '404', '413', '429']],
    ['delete', '/api/posts/{id}', ['400', '401', '403', '404', '429']],
    ['get', '/api/posts', ['400', '429']],
  ])('%s %s documents %j', (method, path, statuses) => {
    expect(Object.keys(document.paths[path][method].responses)).toEqual(
      expect.arrayContaining(statuses),
    );
  });

  it('gives every route under /api a 429 (the default tier counts them all)', () => {
    const without = apiOperations()
      .filter(([, , operation]) => !operation.responses['429'])
      .map(([method, path]) => `${method} ${path}`);
    expect(without).toEqual([]);
  });
});
