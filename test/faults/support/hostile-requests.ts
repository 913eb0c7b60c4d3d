import fc from 'fast-check';

/** Who a generated request claims to be; mapped to a real `authorization` header when sent. */
export type Caller = 'none' | 'valid' | 'tampered' | 'alg-none' | 'expired' | 'odd-header';

/** A generated request before the caller's credentials are filled in. */
export interface HostileRequest {
  method: string;
  path: string;
  caller: Caller;
  headers: Record<string, string>;
  body?: string | Buffer;
}

/** Ids of real rows, so that some requests hit existing resources. */
export interface KnownIds {
  users: number[];
  posts: number[];
}

const INJECTIONS = [
  "' OR '1'='1",
  "1' OR 1=1 --",
  '1; DROP TABLE users; --',
  '1 UNION SELECT email, password_hash FROM users',
  "'; SELECT pg_sleep(10); --",
  '$where',
  '{"$gt": ""}',
  '{"$ne": null}',
  '[$ne]=1',
  '${7*7}',
  '{{7*7}}',
  '<script>alert(1)</script>',
  '../../etc/passwd',
  '\u0000',
  '\\x00',
  '\u202e\u0000\uffff',
];

const ODD_IDS = [
  '-1',
  '0',
  '-0',
  '1e309',
  '1e3',
  '0x10',
  '0b1',
  '1.5',
  '01',
  '%00',
  '%20',
  '1%00',
  'NaN',
  'Infinity',
  'null',
  'undefined',
  'true',
  '%5B%5D',
  '%7B%7D',
  '..',
  '%2e%2e',
  '%2F',
  '%ff',
  '%c3%28',
  '2147483647',
  '2147483648',
  '9007199254740993',
  '99999999999999999999',
  '1,2',
  '%E2%80%8B1',
  '%EF%BC%91',
];

const encoded = (text: string) => encodeURIComponent(text);

function idArbitrary(known: KnownIds): fc.Arbitrary<string> {
  return fc.oneof(
    { weight: 4, arbitrary: fc.constantFrom(...ODD_IDS) },
    { weight: 3, arbitrary: fc.constantFrom(...[...known.users, ...known.posts].map(String)) },
    { weight: 2, arbitrary: fc.constantFrom(...INJECTIONS).map(encoded) },
    { weight: 1, arbitrary: fc.constantFrom('9'.repeat(10_240), 'a'.repeat(10_240)) },
    { weight: 1, arbitrary: fc.integer().map(String) },
    { weight: 2, arbitrary: fc.string({ maxLength: 40, unit: 'binary' }).map(encoded) },
  );
}

const METHODS = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'HEAD', 'OPTIONS', 'TRACE', 'PROPFIND'];

/** The API's routes with their methods, paths drawn with odd ids and query values. */
function routeArbitrary(known: KnownIds): fc.Arbitrary<{ method: string; path: string }> {
  const id = idArbitrary(known);
  const ids = fc.array(id, { minLength: 1, maxLength: 120 }).map((list) => list.join(','));
  const route = (method: string, path: fc.Arbitrary<string>) =>
    path.map((p) => ({ method, path: p }));
  return fc.oneof(
    route(
      'GET',
      id.map((x) => `/api/users/${x}`),
    ),
    route(
      'PATCH',
      id.map((x) => `/api/users/${x}`),
    ),
    route(
      'GET',
      id.map((x) => `/api/users/${x}/dashboard`),
    ),
    route(
      'PUT',
      id.map((x) => `/api/users/${x}/follow`),
    ),
    route(
      'DELETE',
      id.map((x) => `/api/users/${x}/follow`),
    ),
    route(
      'GET',
      id.map((x) => `/api/posts/${x}`),
    ),
    route(
      'PATCH',
      id.map((x) => `/api/posts/${x}`),
    ),
    route(
      'DELETE',
      id.map((x) => `/api/posts/${x}`),
    ),
    route(
      'GET',
      ids.map((x) => `/api/users?ids=${x}`),
    ),
    route(
      'GET',
      fc
        .tuple(id, id, id)
        .map(
          ([author, limit, cursor]) =>
            `/api/posts?authorId=${author}&limit=${limit}&cursor=${cursor}`,
        ),
    ),
    route(
      'GET',
      fc
        .tuple(id, id)
        .map(([format, author]) => `/api/posts/export?format=${format}&authorId=${author}`),
    ),
    route('POST', fc.constantFrom('/api/posts', '/api/posts/import')),
    route('POST', fc.constantFrom('/api/auth/register', '/api/auth/login')),
    route('GET', fc.constantFrom('/api/users/me', '/api/config', '/metrics', '/docs-json')),
    route(
      'GET',
      fc.constantFrom(
        '/api/users?ids=1&ids=2',
        '/api/users?ids[]=1&ids[]=2',
        '/api/users?ids[$ne]=1',
        '/api/users?ids=',
        '/api/posts?limit=1&limit=2',
        '/api/posts?authorId[$gt]=0',
        '/api/posts?cursor=cDE6MQ&cursor=x',
        '/api/posts?__proto__[x]=1',
        '/api/posts?constructor[prototype][x]=1',
        '/api/posts/export?format=csv&format=ndjson',
      ),
    ),
    fc.record({
      method: fc.constantFrom(...METHODS),
      path: fc.oneof(
        id.map((x) => `/api/users/${x}`),
        id.map((x) => `/api/posts/${x}`),
        fc.constantFrom(
          '/',
          '/api',
          '/api/',
          '//api//users//1',
          '/api/users/1/../2',
          '/api/%2e%2e/config',
          '/api/users/1%2F2',
          '/api/posts/import',
        ),
        fc.string({ maxLength: 30, unit: 'binary' }).map((s) => `/api/${encoded(s)}`),
      ),
    }),
  );
}

const KEYS = [
  'name',
  'bio',
  'title',
  'body',
  'email',
  'password',
  'ids',
  'id',
  'authorId',
  '__proto__',
  'constructor',
  'prototype',
  '$gt',
  '$ne',
  '$where',
  'toString',
  'hasOwnProperty',
];

const { json } = fc.letrec((tie) => ({
  json: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    fc.string({ maxLength: 50, unit: 'binary' }),
    fc.constantFrom(...INJECTIONS),
    fc.integer(),
    fc.double(),
    fc.boolean(),
    fc.constant(null),
    fc.array(tie('json'), { maxLength: 4 }),
    fc
      .array(
        fc.tuple(fc.oneof(fc.constantFrom(...KEYS), fc.string({ maxLength: 12 })), tie('json')),
        {
          maxLength: 4,
        },
      )
      .map(
        (entries) =>
          `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${serialise(v)}`).join(',')}}`,
      )
      .map((raw) => ({ raw })),
  ),
}));

/** JSON text of a generated value; objects are pre-rendered so `__proto__` keys survive. */
function serialise(value: unknown): string {
  if (typeof value === 'object' && value !== null && 'raw' in value) {
    return (value as { raw: string }).raw;
  }
  if (Array.isArray(value)) return `[${value.map(serialise).join(',')}]`;
  return JSON.stringify(value) ?? 'null';
}

const text = fc.oneof(
  fc.string({ maxLength: 120, unit: 'binary' }),
  fc.constantFrom(...INJECTIONS),
);

/** Bodies a valid request would almost send: right fields, hostile values. */
const nearlyValid = fc.oneof(
  fc.record({ name: text, bio: text }, { requiredKeys: [] }),
  fc.record({ title: text, body: text }, { requiredKeys: [] }),
  fc.record({ email: text, password: text, name: text }, { requiredKeys: [] }),
);

function deep(depth: number, open: string, leaf: string, close: string): string {
  return open.repeat(depth) + leaf + close.repeat(depth);
}

const bodyArbitrary: fc.Arbitrary<string | Buffer | undefined> = fc.oneof(
  { weight: 4, arbitrary: fc.constant(undefined) },
  { weight: 4, arbitrary: json.map(serialise) },
  { weight: 4, arbitrary: nearlyValid.map((value) => JSON.stringify(value)) },
  {
    weight: 2,
    arbitrary: fc
      .constantFrom(1_000, 10_000, 100_000)
      .chain((depth) =>
        fc.constantFrom(
          deep(depth, '[', '', ']'),
          deep(depth, '{"a":', '1', '}'),
          `{"name":${deep(depth, '{"a":', '1', '}')}}`,
          `{"title":"t","body":${deep(depth, '[', '"x"', ']')}}`,
        ),
      ),
  },
  {
    weight: 1,
    arbitrary: fc.constantFrom(
      `{"title":"${'x'.repeat(1_100_000)}","body":"b"}`,
      `{"title":"t","body":"${'x'.repeat(1_000_000)}"}`,
      JSON.stringify(Array.from({ length: 100_000 }, (_, i) => i)),
      `{${Array.from({ length: 20_000 }, (_, i) => `"k${i}":0`).join(',')}}`,
    ),
  },
  {
    weight: 2,
    arbitrary: fc.constantFrom(
      '{"name":"a","name":"b"}',
      '{"bio":"x","bio":{"$gt":""}}',
      '{"title":"a","title":["b"],"body":"c"}',
      '{"__proto__":{"bio":"polluted","name":"polluted"}}',
      '{"name":"x","__proto__":{"isAdmin":true}}',
      '{"constructor":{"prototype":{"bio":"polluted"}}}',
      '{"bio":"x","constructor":{"prototype":{"name":"polluted"}}}',
      '{"email":{"$ne":null},"password":{"$ne":null}}',
      '{"email":"a@b.c","password":{"$gt":""}}',
    ),
  },
  {
    weight: 2,
    arbitrary: fc.constantFrom(
      Buffer.from([0x7b, 0x22, 0x6e, 0x61, 0x6d, 0x65, 0x22, 0x3a, 0x22, 0xff, 0xfe, 0x22, 0x7d]),
      Buffer.from([0x7b, 0x22, 0x62, 0x69, 0x6f, 0x22, 0x3a, 0x22, 0xc3, 0x28, 0x22, 0x7d]),
      Buffer.from([0xef, 0xbb, 0xbf, 0x7b, 0x7d]),
      Buffer.from([0xed, 0xa0, 0x80]),
      Buffer.from('title,body\n"a\xff",b\n', 'latin1'),
    ),
  },
  {
    weight: 2,
    arbitrary: fc.oneof(
      fc.string({ maxLength: 200, unit: 'binary' }),
      fc.constantFrom(
        '',
        'null',
        '[]',
        '"x"',
        '123',
        '{"name":',
        '{,}',
        'name=a&bio=b',
        '--x\r\nContent-Disposition: form-data; name="bio"\r\n\r\nb\r\n--x--\r\n',
        'title,body\nhello,world\n',
        `title,body\n${'"a""b",c\n'.repeat(50)}`,
        '<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]><x>&e;</x>',
      ),
    ),
  },
);

const contentTypeArbitrary = fc.oneof(
  { weight: 6, arbitrary: fc.constant('application/json') },
  {
    weight: 4,
    arbitrary: fc.constantFrom(
      'application/json; charset=utf-8',
      'application/json; charset=latin1',
      'application/json; charset=utf-16',
      'APPLICATION/JSON',
      'application/json, text/plain',
      'text/plain',
      'text/csv',
      'application/x-www-form-urlencoded',
      'multipart/form-data; boundary=x',
      'application/xml',
      'application/octet-stream',
      '*/*',
      'a/b/c',
      ';;;',
    ),
  },
  { weight: 1, arbitrary: fc.constant(undefined) },
);

/** Requests a hostile client might send: every part drawn from odd, injected or malformed values. */
export function hostileRequests(known: KnownIds): fc.Arbitrary<HostileRequest> {
  return fc
    .record({
      route: routeArbitrary(known),
      caller: fc.constantFrom<Caller>(
        'none',
        'valid',
        'valid',
        'tampered',
        'alg-none',
        'expired',
        'odd-header',
      ),
      body: bodyArbitrary,
      contentType: contentTypeArbitrary,
      requestId: fc.option(fc.constantFrom('a'.repeat(200), '../..', '<script>', 'ok-1', '%00'), {
        nil: undefined,
      }),
      acceptEncoding: fc.option(fc.constantFrom('br', 'gzip', 'identity;q=0, *;q=0', 'x'), {
        nil: undefined,
      }),
    })
    .map(({ route, caller, body, contentType, requestId, acceptEncoding }) => ({
      ...route,
      caller,
      body,
      headers: {
        ...(contentType === undefined ? {} : { 'content-type': contentType }),
        ...(requestId === undefined ? {} : { 'x-request-id': requestId }),
        ...(acceptEncoding === undefined ? {} : { 'accept-encoding': acceptEncoding }),
      },
    }));
}
