import { readFile } from 'node:fs/promises';
import { createClient } from '@redis/client';
import { Client } from 'pg';
import { CACHE_STATUS_HEADER } from '@app/cache';
import { DEFAULT_RATE_LIMIT_KEY_PREFIX } from '@app/throttler';
import { ConfigValidationError } from '../src/config/config.errors';
import { parseEnvironment } from '../src/config/environment';
import type { BenchProcess } from './processes';
import { sleep } from '../test/utils/net';

/**
 * What the running app actually does, found by asking it rather than by reading the code, so
 * a scenario lights up on the day its feature lands and never measures something absent.
 */
export interface StackFeatures {
  requestId: boolean;
  validation: boolean;
  /** One JSON line per request in the log file. */
  requestLogs: boolean;
  metrics: boolean;
  /** Rate-limit headers on the cached route. */
  limiter: boolean;
  /** The limiter's counters are keys in the run's Redis, not in the process. */
  limiterInRedis: boolean;
  /**
   * A row changed behind the app's back is still served as it was, and the app says `HIT`:
   * the read came from the cache.
   */
  cache: boolean;
  compression: boolean;
  health: boolean;
  import: boolean;
  export: boolean;
}

/** Labels for the report, in the order the stack applies them. */
export const FEATURE_LABELS: Record<keyof StackFeatures, string> = {
  requestId: 'request id',
  validation: 'validation',
  requestLogs: 'JSON request logs (to a file)',
  metrics: 'metrics',
  limiter: 'rate limiter',
  limiterInRedis: 'limiter counters in Redis',
  cache: 'cache hit',
  compression: 'compression',
  health: '/health/live',
  import: 'CSV import',
  export: 'streamed export',
};

/** One request, body read whole; 10 s at most. */
export async function httpGet(
  app: BenchProcess,
  path: string,
  headers: Record<string, string> = {},
): Promise<{ status: number; headers: Headers; text: string }> {
  const response = await fetch(app.url + path, { headers, signal: AbortSignal.timeout(10_000) });
  return { status: response.status, headers: response.headers, text: await response.text() };
}

const ok = (status: number) => status >= 200 && status < 300;

/** Rate-limit headers as `@nestjs/throttler` or the IETF draft name them. */
export function hasRateLimitHeaders(headers: Headers): boolean {
  for (const name of headers.keys()) if (/^(x-)?ratelimit-/i.test(name)) return true;
  return false;
}

/** Whether the log file holds a JSON access-log line about `path` at `level`. */
export async function logsRequest(logFile: string, path: string, level = 'info'): Promise<boolean> {
  const text = await readFile(logFile, 'utf8');
  return text.split('\n').some((line) => {
    if (!line.startsWith('{')) return false;
    const entry = JSON.parse(line) as { level?: unknown; path?: unknown };
    return entry.level === level && entry.path === path;
  });
}

/** Whether Redis holds at least one key under `prefix` (SCAN, never KEYS). */
export async function redisHasKeys(redisUrl: string, prefix: string): Promise<boolean> {
  const client = createClient({ url: redisUrl });
  await client.connect();
  try {
    for await (const keys of client.scanIterator({ MATCH: `${prefix}*`, COUNT: 1_000 })) {
      if (keys.length > 0) return true;
    }
    return false;
  } finally {
    client.destroy();
  }
}

/** Reads of one cache by result, as the app counts them in `cache_operations_total`. */
export interface CacheReads {
  hit: number;
  miss: number;
  stale: number;
}

/** Parses `cache_operations_total{cache="<cache>",result="…"} n` lines of a Prometheus scrape. */
export function parseCacheReads(metricsText: string, cache: string): CacheReads {
  const reads: CacheReads = { hit: 0, miss: 0, stale: 0 };
  const line = /^cache_operations_total\{([^}]*)\} (\S+)$/gm;
  for (const [, labels, value] of metricsText.matchAll(line)) {
    const result = /result="(\w+)"/.exec(labels)?.[1];
    if (
      labels.includes(`cache="${cache}"`) &&
      (result === 'hit' || result === 'miss' || result === 'stale')
    ) {
      reads[result] += Number(value);
    }
  }
  return reads;
}

/** `cache_operations_total` of `cache` from the app's `/metrics`. */
export async function cacheReads(app: BenchProcess, cache: string): Promise<CacheReads> {
  return parseCacheReads((await httpGet(app, '/metrics')).text, cache);
}

/** Share of the reads between two scrapes that were misses (NaN when nothing was read). */
export function missShare(before: CacheReads, after: CacheReads): number {
  const delta = (result: keyof CacheReads) => after[result] - before[result];
  return delta('miss') / (delta('hit') + delta('miss') + delta('stale'));
}

/** The app's own word on where a read came from (`HIT`, `MISS`, `STALE`), if it says. */
export const cacheStatusOf = (headers: Headers) => headers.get(CACHE_STATUS_HEADER);

/**
 * `GET /api/users/:id`, then the row is changed in the database directly, then read again:
 * an unchanged answer can only have come from a cache. The row is put back afterwards.
 */
export async function servesFromCache(
  app: BenchProcess,
  databaseUrl: string,
  userId: number,
): Promise<boolean> {
  const before = await httpGet(app, `/api/users/${userId}`);
  if (!ok(before.status)) return false;
  const client = new Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    await client.query(`UPDATE users SET name = name || ' (changed)' WHERE id = $1`, [userId]);
    const after = await httpGet(app, `/api/users/${userId}`);
    return after.text === before.text && cacheStatusOf(after.headers) === 'HIT';
  } finally {
    await client.query(`UPDATE users SET name = replace(name, ' (changed)', '') WHERE id = $1`, [
      userId,
    ]);
    await client.end();
  }
}

export async function login(app: BenchProcess, email: string, password: string): Promise<string> {
  const response = await fetch(app.url + '/api/auth/login', {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ email, password }),
  });
  const body = (await response.json()) as { accessToken?: string };
  if (!body.accessToken) throw new Error(`login failed: ${response.status}`);
  return body.accessToken;
}

export async function importCsv(
  app: BenchProcess,
  token: string,
  csv: string | Buffer,
): Promise<{ status: number; imported?: number; failed?: number }> {
  const response = await fetch(app.url + '/api/posts/import', {
    method: 'POST',
    headers: { 'content-type': 'text/csv', authorization: `Bearer ${token}` },
    body: csv,
    signal: AbortSignal.timeout(300_000),
  });
  const text = await response.text();
  const body = (text.startsWith('{') ? JSON.parse(text) : {}) as {
    imported?: number;
    failed?: number;
  };
  return { status: response.status, ...body };
}

export async function probeFeatures(
  app: BenchProcess,
  databaseUrl: string,
  options: { cacheProbeUserId: number; token?: string; redisUrl?: string },
): Promise<StackFeatures> {
  const user = await httpGet(app, '/api/users/1');
  for (let i = 0; i < 50; i++) await httpGet(app, '/api/users/1');
  const compressed = await httpGet(app, '/api/users/1', { 'accept-encoding': 'gzip, br' });
  const metrics = await httpGet(app, '/metrics');
  const exported = await httpGet(app, '/api/posts/export?format=ndjson&authorId=2');
  const imported = options.token
    ? await importCsv(app, options.token, 'title,body\nprobe,written by the bench probe\n')
    : { status: 0 };
  await sleep(500);
  return {
    requestId: user.headers.has('x-request-id'),
    validation: (await httpGet(app, '/api/users/abc')).status === 400,
    requestLogs: await logsRequest(app.logFile, '/api/users/1'),
    metrics: ok(metrics.status) && metrics.text.includes('http_request_duration_seconds'),
    limiter: hasRateLimitHeaders(user.headers),
    limiterInRedis:
      options.redisUrl !== undefined &&
      (await redisHasKeys(
        options.redisUrl,
        parseEnvironment({}).rateLimit.keyPrefix ?? DEFAULT_RATE_LIMIT_KEY_PREFIX,
      )),
    cache: await servesFromCache(app, databaseUrl, options.cacheProbeUserId),
    compression: compressed.headers.has('content-encoding'),
    health: ok((await httpGet(app, '/health/live')).status),
    import: imported.status === 201,
    export: ok(exported.status) && /ndjson/.test(exported.headers.get('content-type') ?? 'missing'),
  };
}

/**
 * Whether the configuration knows `name`: `parseEnvironment` validates every variable it
 * reads, so a nonsense value is refused exactly when the variable exists.
 */
export function configSwitchExists(name: string): boolean {
  try {
    parseEnvironment({ [name]: '§not-a-value§' });
    return false;
  } catch (error) {
    return error instanceof ConfigValidationError && error.message.includes(name);
  }
}
