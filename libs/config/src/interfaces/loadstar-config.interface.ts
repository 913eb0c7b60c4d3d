import type { ResourceLimits } from 'node:worker_threads';

/** A `count/window` rate-limit tier, e.g. `600/1m`. */
export interface RateLimitTier {
  /** Requests allowed per window. */
  limit: number;
  /** Window length in milliseconds. */
  ttlMs: number;
}

/**
 * Names of the rate-limit tiers: the contract's (§1) and the login and registration ones.
 * `auth` counts failed logins per address, `authAccountAddress` per (address, account),
 * `authAccount` per account (its limit starts the slowdown).
 */
export type RateLimitTierName =
  'default' | 'auth' | 'authAccountAddress' | 'authAccount' | 'register' | 'expensive';

/**
 * Fastify's `trustProxy`: `false` (use the socket address), a hop count (the number of proxies
 * in front of the app), or a list of trusted proxy addresses / CIDR ranges. Never `true`
 * (every hop trusted), which lets a client choose its address through `X-Forwarded-For`.
 */
export type TrustProxySetting = false | number | string[];

/** The second listener that serves only the operations routes (`OPS_PORT`, `OPS_HOST`). */
export interface OperationsListenerConfig {
  /** `0` picks a free port (tests). */
  port: number;
  host: string;
}

export interface HttpConfig {
  port: number;
  host: string;
  /**
   * When set, `/health/*`, `/metrics` and `/docs` are served only on this listener and the
   * public one answers 404 for them; unset, they are served on the public listener.
   */
  operations?: OperationsListenerConfig;
  /** Serve the OpenAPI UI and document (`/docs`, `/docs-json`); off by default in production. */
  docsEnabled: boolean;
  trustProxy: TrustProxySetting;
  /** Largest accepted request body in bytes (the import route has its own limit). */
  bodyLimitBytes: number;
  /** Budget for in-flight requests after SIGTERM; connections still open then are cut. */
  shutdownTimeoutMs: number;
  /** After SIGTERM, readiness answers 503 this long before the listener closes. */
  shutdownDelayMs: number;
  /** Origins allowed by CORS: `false` sends no CORS headers, `true` allows any origin. */
  corsOrigins: boolean | string[];
  shedding: LoadSheddingConfig;
}

/** When a process answers 503 before doing any work (`@fastify/under-pressure`); 0 disables. */
export interface LoadSheddingConfig {
  /** Mean event-loop delay, in milliseconds, above which requests are shed. */
  maxEventLoopDelayMs: number;
  /** Share of V8's heap limit (0–1) above which requests are shed. */
  maxHeapUsedRatio: number;
}

export interface DatabaseConfig {
  /** Primary's URL; `undefined` starts the embedded PostgreSQL. */
  url?: string;
  replicaUrls: string[];
  /** Connections of the pool; by default `2 × CPUs + 1` of the process's share of the container. */
  poolMax: number;
  poolMin: number;
  poolIdleMs: number;
  connectTimeoutMs: number;
  statementTimeoutMs: number;
  poolMaxUses: number;
  /** Folder of the embedded cluster's data. */
  embeddedDataDir: string;
  /** Apply pending migrations at start (every environment but production). */
  migrationsRun: boolean;
}

export interface RedisConfig {
  /** `undefined` keeps cache and rate-limit storage in process. */
  url?: string;
  /**
   * `true`: readiness answers 503 while Redis is unreachable. `false`: the app serves without
   * it (cache from process memory and the database, limiter failing open) and readiness
   * stays 200, naming Redis as degraded. Defaults to `true` only when the limiter fails closed.
   */
  required: boolean;
}

export interface CacheConfig {
  /** `false`: every read goes to the database, nothing is stored (measuring, debugging). */
  enabled: boolean;
  defaultTtlS: number;
  /** Most entries the in-process cache (the L1 in front of Redis) holds. */
  l1MaxEntries: number;
  /** Most bytes (approximately: body characters) the in-process cache holds. */
  l1MaxBytes: number;
  /** Longest an entry stays in the L1 when Redis is the shared tier (ms). */
  l1TtlMs: number;
  /** Budget of one Redis command of the cache before it counts as failed (ms). */
  redisTimeoutMs: number;
}

export interface RateLimitConfig {
  /** `false`: no route is limited and Redis is not used for counters (e.g. behind a gateway). */
  enabled: boolean;
  tiers: Record<RateLimitTierName, RateLimitTier>;
  /** Longest delay between two login attempts on an account past its `authAccount` limit (ms). */
  slowdownMaxDelayMs: number;
  /** Applies to every tier except the login and registration ones, which count in process. */
  failOpen: boolean;
  /** Prefix of the counters' keys in Redis; apps sharing one Redis keep theirs apart with it. */
  keyPrefix: string;
}

export interface MetricsConfig {
  /** `false`: no `/metrics` (404) and no per-request histogram. */
  enabled: boolean;
  /** When set, `/metrics` answers only requests with `Authorization: Bearer <token>`. */
  token?: string;
}

export interface ClusterConfig {
  /** HTTP worker processes; 0 serves from the single process. */
  workers: number;
}

export interface WorkerPoolConfig {
  /** Threads; by default one per spare CPU of the process's share, bounded by its memory. */
  size: number;
  maxQueue: number;
  /** Budget of one task, queueing included; a task over it is aborted (its thread replaced). */
  taskTimeoutMs: number;
  /** `false` runs tasks on the main thread instead (for side-by-side benchmarks). */
  offload: boolean;
  /** V8 limits of each thread: the old generation sized from the process's memory share. */
  resourceLimits: ResourceLimits;
}

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
}

export interface PostsConfig {
  export: PostsExportConfig;
  import: PostsImportConfig;
}

export interface LogConfig {
  level: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';
  slowRequestMs: number;
  pretty: boolean;
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

/** The whole validated configuration, one namespace per concern. */
export interface LoadstarConfig {
  env: 'development' | 'production' | 'test';
  version: string;
  http: HttpConfig;
  database: DatabaseConfig;
  redis: RedisConfig;
  cache: CacheConfig;
  rateLimit: RateLimitConfig;
  metrics: MetricsConfig;
  cluster: ClusterConfig;
  workerPool: WorkerPoolConfig;
  posts: PostsConfig;
  log: LogConfig;
  auth: AuthConfig;
}
