/** A `count/window` rate-limit tier, e.g. `600/1m`. */
export interface RateLimitTier {
  /** Requests allowed per window. */
  limit: number;
  /** Window length in milliseconds. */
  ttlMs: number;
}

/** Names of the rate-limit tiers of the contract (§1). */
export type RateLimitTierName = 'default' | 'auth' | 'expensive';

/**
 * Fastify's `trustProxy`: `false` (use the socket address), `true` (trust every hop),
 * a hop count, or a list of trusted proxy addresses / CIDR ranges.
 */
export type TrustProxySetting = boolean | number | string[];

export interface HttpConfig {
  port: number;
  host: string;
  trustProxy: TrustProxySetting;
  /** Largest accepted request body in bytes (the import route has its own limit). */
  bodyLimitBytes: number;
  shutdownTimeoutMs: number;
}

export interface DatabaseConfig {
  /** Primary's URL; `undefined` starts the embedded PostgreSQL. */
  url?: string;
  replicaUrls: string[];
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
}

export interface CacheConfig {
  defaultTtlS: number;
}

export interface RateLimitConfig {
  tiers: Record<RateLimitTierName, RateLimitTier>;
  failOpen: boolean;
}

export interface ClusterConfig {
  /** HTTP worker processes; 0 serves from the single process. */
  workers: number;
}

export interface WorkerPoolConfig {
  size: number;
  maxQueue: number;
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
  cluster: ClusterConfig;
  workerPool: WorkerPoolConfig;
  log: LogConfig;
  auth: AuthConfig;
}
