import type { CacheModuleOptions } from '@app/cache';
import type { DatabaseConnectionOptions } from '@app/database';
import type { HealthModuleOptions } from '@app/health';
import type { HttpAppOptions } from '@app/http';
import type { IdempotencyModuleOptions } from '@app/idempotency';
import type { JobsModuleOptions } from '@app/jobs';
import type { LoggingModuleOptions } from '@app/logging';
import type { MetricsModuleOptions } from '@app/metrics';
import type { RateLimitModuleOptions } from '@app/throttler';
import type { WorkerModuleOptions } from '@app/worker';

/** What one process does (`PROCESS_ROLE`). */
export type ProcessRole = 'api' | 'worker' | 'all';

/** `GET /api/posts/export`: streams held open by clients, so bounded and watched. */
export interface PostsExportConfig {
  /**
   * Exports one process streams at once, each on a connection of the export pool (its own,
   * never the application's); one more is refused with 503 and `Retry-After`.
   */
  maxConcurrent: number;
  /** An export whose client has accepted no data for this long is ended (ms). */
  stallTimeoutMs: number;
  /** Longest an export may run, however steadily it is read (ms). */
  timeoutMs: number;
}

/** `POST /api/posts/import`: bounds per request and per user. */
export interface PostsImportConfig {
  /** Most data rows (valid or not) one request may carry; the import stops at the next one. */
  maxRows: number;
  /** Rows one user may import per window, across requests, processes and instances. */
  rowQuota: { rows: number; windowMs: number };
  /**
   * How often a process that runs jobs deletes the stored CSV bodies of async imports that
   * have ended (completed, failed or cancelled).
   */
  uploadsSweepMs: number;
}

export interface PostsConfig {
  export: PostsExportConfig;
  import: PostsImportConfig;
}

export interface AuthConfig {
  jwtSecret: string;
  /** `true` when the secret was generated for this start (development only). */
  jwtSecretGenerated: boolean;
  jwtTtlS: number;
  /** `iss` of the tokens this app signs, required of every token it accepts. */
  jwtIssuer: string;
  /** `aud` of the tokens this app signs, required of every token it accepts. */
  jwtAudience: string;
  /** Clock skew allowed on `exp`, `nbf` and the token's age, in seconds. */
  jwtClockToleranceS: number;
  /** scrypt's N is 2 to this power (r=8, p=1); at least 17 in production. */
  passwordCostLog2: number;
}

/** The rate limiter's settings that come from the environment (the rest is wiring). */
export type RateLimitConfig = Pick<
  RateLimitModuleOptions,
  | 'enabled'
  | 'tiers'
  | 'failOpen'
  | 'redisConnection'
  | 'clusterWorkers'
  | 'keyPrefix'
  | 'slowdownMaxDelayMs'
>;

/** The idempotency lib's settings; whose keys a request uses is the app's (`scope`). */
export type IdempotencyConfig = Pick<
  IdempotencyModuleOptions,
  'ttlMs' | 'lockTimeoutMs' | 'waitMs'
>;

/**
 * The whole validated configuration, built once by `parseEnvironment`. Each lib's namespace is
 * that lib's own options type, passed to its `forRoot` as is: a lib declares its options and
 * defaults, the parser only reads variables and converts units, and a setting left unset stays
 * `undefined` so the lib's default applies.
 *
 * An abstract class rather than an interface so that it is also the injection token:
 * `constructor(config: LoadstarConfig)` (see `LoadstarConfigModule`).
 */
export abstract class LoadstarConfig {
  abstract readonly env: 'development' | 'production' | 'test';
  abstract readonly http: HttpAppOptions;
  abstract readonly database: DatabaseConnectionOptions;
  abstract readonly cache: CacheModuleOptions;
  abstract readonly rateLimit: RateLimitConfig;
  abstract readonly health: HealthModuleOptions;
  abstract readonly metrics: MetricsModuleOptions;
  abstract readonly workerPool: WorkerModuleOptions;
  abstract readonly jobs: JobsModuleOptions;
  /**
   * `PROCESS_ROLE`: `api` serves the API and runs no jobs, `worker` runs jobs and serves only
   * `/health/*` and `/metrics`, `all` does both.
   */
  abstract readonly processRole: ProcessRole;
  abstract readonly log: LoggingModuleOptions;
  /** HTTP worker processes; 0 serves from the single process. */
  abstract readonly clusterWorkers: number;
  abstract readonly posts: PostsConfig;
  abstract readonly idempotency: IdempotencyConfig;
  abstract readonly auth: AuthConfig;
}
