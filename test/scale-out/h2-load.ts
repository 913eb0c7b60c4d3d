import { connect, ClientHttp2Session } from 'node:http2';
import type { Client } from 'pg';

/** One exchange over HTTP/2: the status, or the error that ended it. */
export interface H2Outcome {
  status: number | string;
  body: string;
  ms: number;
}

/** HTTP/2 sessions to nginx's TLS port, each a connection of its own. */
export class H2Clients {
  private readonly sessions: ClientHttp2Session[];

  constructor(
    private readonly url: string,
    private readonly ca: string,
    count: number,
  ) {
    this.sessions = Array.from({ length: count }, () => this.open());
  }

  private open(): ClientHttp2Session {
    const session = connect(this.url, { ca: this.ca });
    // a session that failed is replaced on its next use; the error is the request's outcome
    session.on('error', () => undefined);
    return session;
  }

  /** Sends one request on session `index` (reopened when it has closed). */
  request(
    index: number,
    method: string,
    path: string,
    headers: Record<string, string> = {},
    body?: unknown,
    timeoutMs = 30_000,
  ): Promise<H2Outcome> {
    let session = this.sessions[index];
    if (session.closed || session.destroyed) session = this.sessions[index] = this.open();
    const started = performance.now();
    return new Promise((resolve) => {
      const payload = body === undefined ? undefined : JSON.stringify(body);
      const stream = session.request({
        ':method': method,
        ':path': path,
        ...headers,
        ...(payload === undefined ? {} : { 'content-type': 'application/json' }),
      });
      let status: number | undefined;
      let text = '';
      stream.setEncoding('utf8');
      stream.on('response', (responseHeaders) => (status = Number(responseHeaders[':status'])));
      stream.on('data', (chunk: string) => (text += chunk));
      stream.on('end', () =>
        resolve({ status: status ?? 'no status', body: text, ms: performance.now() - started }),
      );
      stream.on('error', (error: NodeJS.ErrnoException) =>
        resolve({ status: error.code ?? error.message, body: '', ms: performance.now() - started }),
      );
      stream.setTimeout(timeoutMs, () => {
        resolve({ status: 'timeout', body: '', ms: performance.now() - started });
        stream.close();
      });
      stream.end(payload);
    });
  }

  close(): void {
    for (const session of this.sessions) session.destroy();
  }
}

/** The `q`-quantile (0–1) of `values`, nearest rank. */
export function quantile(values: readonly number[], q: number): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)];
}

/** One request of a {@link MixedLoad}: when it started, how long it took, what it got. */
export interface LoadSample {
  /** Sent as `X-Request-Id`, which nginx's access log and the app's log carry too. */
  requestId: string;
  startedAt: number;
  ms: number;
  status: number | string;
  /** The start of the answer's body, kept for a non-2xx one to say what answered. */
  body?: string;
}

/** A write the load sends with an Idempotency-Key of its own, to send again with that key. */
export interface KeyedWrite {
  method: 'POST' | 'PATCH';
  path: string;
  key: string;
  body: unknown;
}

/** What a {@link MixedLoad} saw. */
export interface LoadReport {
  samples: LoadSample[];
  /** POST keys answered 201, PATCH keys answered 200. */
  posted: Set<string>;
  patched: Set<string>;
  /** Keyed writes that got no 2xx. */
  unacknowledged: KeyedWrite[];
}

/**
 * Continuous load over {@link H2Clients}, one request at a time per connection, until
 * `stop()`: 1 request in 3 a write (a POST creating a post titled `rw <key>`, or a PATCH of
 * one of `postIds`, in turn), each with an Idempotency-Key of its own; the rest GETs of `reads`. Bounded by
 * `maxRequests`.
 */
export class MixedLoad {
  private running = true;
  private sent = 0;
  private readonly report: LoadReport = {
    samples: [],
    posted: new Set(),
    patched: new Set(),
    unacknowledged: [],
  };
  private readonly done: Promise<unknown>;

  constructor(
    private readonly h2: H2Clients,
    connections: number,
    private readonly options: {
      token: string;
      /** Posts the PATCHes spread over: on one row they would all queue for its lock. */
      postIds: readonly number[];
      run: string;
      reads: string[];
      maxRequests: number;
      /** A request taking longer is abandoned and counted as `timeout`. */
      timeoutMs: number;
    },
  ) {
    this.done = Promise.all(Array.from({ length: connections }, (_, index) => this.loop(index)));
  }

  private write(n: number): KeyedWrite | undefined {
    const key = `${this.options.run}-${n}`;
    if (n % 6 === 0) {
      return {
        method: 'POST',
        path: '/api/posts',
        key,
        body: { title: `rw ${key}`, body: 'under load' },
      };
    }
    if (n % 6 === 3) {
      return {
        method: 'PATCH',
        path: `/api/posts/${this.options.postIds[((n - 3) / 6) % this.options.postIds.length]}`,
        key,
        body: { body: `patch ${key}` },
      };
    }
    return undefined;
  }

  /** Sends one keyed write (again, for a retry) on connection `index`; records it when acknowledged. */
  async send(index: number, write: KeyedWrite, requestId: string): Promise<H2Outcome> {
    const outcome = await this.h2.request(
      index,
      write.method,
      write.path,
      {
        authorization: `Bearer ${this.options.token}`,
        'idempotency-key': write.key,
        'x-request-id': requestId,
      },
      write.body,
      this.options.timeoutMs,
    );
    const ok = outcome.status === (write.method === 'POST' ? 201 : 200);
    if (ok) (write.method === 'POST' ? this.report.posted : this.report.patched).add(write.key);
    return outcome;
  }

  private async loop(index: number): Promise<void> {
    const { reads, maxRequests, token, timeoutMs } = this.options;
    while (this.running && this.sent < maxRequests) {
      const n = this.sent++;
      const write = this.write(n);
      const requestId = `${this.options.run}-r${n}`;
      const startedAt = Date.now();
      const outcome = write
        ? await this.send(index, write, requestId)
        : await this.h2.request(
            index,
            'GET',
            reads[n % reads.length],
            { authorization: `Bearer ${token}`, 'x-request-id': requestId },
            undefined,
            timeoutMs,
          );
      const ok = /^2\d\d$/.test(String(outcome.status));
      if (write && !ok) this.report.unacknowledged.push(write);
      this.report.samples.push({
        requestId,
        startedAt,
        ms: outcome.ms,
        status: outcome.status,
        ...(ok ? {} : { body: outcome.body.slice(0, 200) }),
      });
    }
  }

  async stop(): Promise<LoadReport> {
    this.running = false;
    await this.done;
    return this.report;
  }
}

/** Requests, non-2xx and p50/p99 of `samples`, as printed per phase. */
export function summarize(samples: readonly LoadSample[]): {
  requests: number;
  non2xx: number;
  /** Count of each status other than 2xx (or error code). */
  failures: Record<string, number>;
  p50: number;
  p99: number;
} {
  const ms = samples.map((sample) => sample.ms);
  const failures: Record<string, number> = {};
  for (const { status } of samples) {
    if (!/^2\d\d$/.test(String(status))) failures[status] = (failures[status] ?? 0) + 1;
  }
  return {
    requests: samples.length,
    non2xx: Object.values(failures).reduce((sum, count) => sum + count, 0),
    failures,
    p50: quantile(ms, 0.5),
    p99: quantile(ms, 0.99),
  };
}

/** What the database holds of a {@link MixedLoad}'s writes. */
export interface StoredWrites {
  /** Titles of the run's posts, one per post, sorted. */
  titles: string[];
  /** Titles stored more than once. */
  duplicated: string[];
  /** The patched posts' versions, summed. */
  version: number;
}

export async function storedWrites(
  db: Client,
  authorId: number,
  run: string,
  postIds: readonly number[],
): Promise<StoredWrites> {
  const { rows } = await db.query<{ title: string; copies: number }>(
    `SELECT title, count(*)::int AS copies FROM posts
     WHERE author_id = $1 AND starts_with(title, $2) GROUP BY title ORDER BY title`,
    [authorId, `rw ${run}-`],
  );
  const [{ version }] = (
    await db.query<{ version: number }>(
      `SELECT sum(version)::int AS version FROM posts WHERE id = ANY($1::int[])`,
      [postIds],
    )
  ).rows;
  return {
    titles: rows.map((row) => row.title).sort(),
    duplicated: rows.filter((row) => row.copies > 1).map((row) => row.title),
    version,
  };
}

/**
 * Every acknowledged POST of `load` stored exactly once and nothing else besides; every
 * acknowledged PATCH applied exactly once since the patched posts' versions summed to
 * `versionBefore`.
 */
export function expectEachWriteOnce(
  stored: StoredWrites,
  load: Pick<LoadReport, 'posted' | 'patched'>,
  versionBefore: number,
): void {
  expect(stored.titles).toEqual([...load.posted].map((key) => `rw ${key}`).sort());
  expect(stored.duplicated).toEqual([]);
  expect(stored.version).toBe(versionBefore + load.patched.size);
}
