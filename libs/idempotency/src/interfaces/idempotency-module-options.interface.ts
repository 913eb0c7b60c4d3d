import type { FastifyRequest } from 'fastify';

/** Options of `IdempotencyModule.forRoot` / `forRootAsync`. */
export interface IdempotencyModuleOptions {
  /**
   * Whose keys a request uses, e.g. the authenticated user's id: a key is only ever matched
   * within its scope, so two clients choosing the same key never see each other's responses.
   * `undefined` (an anonymous caller) serves the request without idempotency.
   * @example (request) => (request as { user?: { id: number } }).user?.id.toString()
   */
  scope: (request: FastifyRequest) => string | undefined;
  /**
   * Milliseconds a key and its stored response are kept.
   * @default 86_400_000 (24 h)
   */
  ttlMs?: number;
  /**
   * Milliseconds a running request holds its key; past it (the process holding it died) a
   * retry takes the key over and runs. Keep it above the longest request: a request whose
   * hold ran out is rolled back (409) rather than applied next to the retry's.
   * @default 30_000
   */
  lockTimeoutMs?: number;
  /**
   * Milliseconds a duplicate sent while the first is still running waits for its result
   * before answering 409.
   * @default 5_000
   */
  waitMs?: number;
  /**
   * Largest streamed body (e.g. a CSV upload) a duplicate is read and hashed from; larger is
   * a 413.
   * @default 67_108_864 (64 MiB)
   */
  maxStreamedBytes?: number;
}

/** Options of one `@Idempotent()` route. */
export interface IdempotentOptions {
  /**
   * Run the handler in one database transaction (`DatabaseService.inTransaction`) that also
   * stores the response under the key, so a write is never committed without it: a retry
   * after a crash either replays or applies for the first time. `false` for a route whose
   * writes cannot be one transaction (they commit in batches as they go); its response is
   * stored after them, and a crash in between lets the retry apply them again.
   * @default true
   */
  transaction?: boolean;
}
