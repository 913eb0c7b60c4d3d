import { performance } from 'node:perf_hooks';
import { Dispatcher, Pool } from 'undici';
import { sleep } from '../../utils/net';

/** One request of a load; `kind` groups results (e.g. `read`, `write`). */
export interface LoadRequest {
  kind: string;
  method: Dispatcher.HttpMethod;
  path: string;
  headers?: Record<string, string>;
  body?: string | Buffer;
}

/** What became of one request. `status` 0: no response (refused, reset or timed out). */
export interface LoadResult {
  index: number;
  request: LoadRequest;
  status: number;
  /** Epoch milliseconds when the request was dispatched. */
  sentAt: number;
  /** Sub-millisecond, from dispatch to the end of the body. */
  latencyMs: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
  error?: string;
}

export interface LoadOptions {
  url: string;
  /** Exactly this many requests are sent. */
  total: number;
  /** Dispatch pace; the load lasts `total / ratePerSecond` seconds plus the slowest answer. */
  ratePerSecond: number;
  /** Keep-alive connections of the client. @default 16 */
  connections?: number;
  /** A request without a full answer after this long counts as hung (status 0). @default 15000 */
  timeoutMs?: number;
  request(index: number): LoadRequest;
}

/**
 * A bounded, paced load on loopback: request `i` leaves at `i / ratePerSecond` seconds, never
 * waiting for earlier answers, so a stalled server shows up as latency and timeouts rather
 * than as a load that quietly slows down.
 */
export async function runLoad(options: LoadOptions): Promise<LoadResult[]> {
  const timeoutMs = options.timeoutMs ?? 15_000;
  const pool = new Pool(options.url, {
    connections: options.connections ?? 16,
    headersTimeout: timeoutMs,
    bodyTimeout: timeoutMs,
  });
  const started = Date.now();
  const pending: Promise<LoadResult>[] = [];
  try {
    for (let index = 0; index < options.total; index++) {
      const due = started + (index * 1_000) / options.ratePerSecond;
      if (due > Date.now()) await sleep(due - Date.now());
      pending.push(send(pool, index, options.request(index)));
    }
    return await Promise.all(pending);
  } finally {
    await pool.destroy();
  }
}

async function send(pool: Pool, index: number, request: LoadRequest): Promise<LoadResult> {
  const sentAt = Date.now();
  const started = performance.now();
  try {
    const response = await pool.request({
      method: request.method,
      path: request.path,
      headers: request.headers,
      body: request.body,
    });
    const text = await response.body.text();
    return {
      index,
      request,
      status: response.statusCode,
      sentAt,
      latencyMs: performance.now() - started,
      headers: response.headers,
      text,
    };
  } catch (error) {
    return {
      index,
      request,
      status: 0,
      sentAt,
      latencyMs: performance.now() - started,
      headers: {},
      text: '',
      error: (error as { code?: string }).code ?? String(error),
    };
  }
}

/**
 * One request outside any load (a readiness poll, a metrics scrape) with its own timeout;
 * never throws: status 0 when no response came.
 */
export async function probe(
  url: string,
  path: string,
  options: Omit<LoadRequest, 'kind' | 'path' | 'method'> & { method?: Dispatcher.HttpMethod } = {},
  timeoutMs = 5_000,
): Promise<LoadResult> {
  const client = new Pool(url, {
    connections: 1,
    headersTimeout: timeoutMs,
    bodyTimeout: timeoutMs,
  });
  try {
    return await send(client, 0, { kind: 'probe', method: 'GET', path, ...options });
  } finally {
    await client.destroy();
  }
}

/** Status code → count, with `0` for requests that got no response. */
export function statusCounts(results: readonly LoadResult[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const { status } of results) counts[status] = (counts[status] ?? 0) + 1;
  return counts;
}

/** The `p`-th percentile (0–100) by nearest rank; 0 for no values. */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return 0;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
}

/**
 * Polls `check` every 50 ms until it holds and returns the milliseconds that took, or
 * throws after `timeoutMs`: the "time to recover" of a scenario.
 */
export async function timeUntil(
  what: string,
  check: () => Promise<boolean>,
  timeoutMs = 30_000,
): Promise<number> {
  const started = Date.now();
  for (;;) {
    if (await check().catch(() => false)) return Date.now() - started;
    if (Date.now() - started > timeoutMs)
      throw new Error(`not recovered within ${timeoutMs} ms: ${what}`);
    await sleep(50);
  }
}
