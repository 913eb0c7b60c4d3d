import { randomBytes } from 'node:crypto';
import { isIP } from 'node:net';
import { resolve } from 'node:path';
import { ConfigValidationError } from './config.errors';
import { weakJwtSecret } from './jwt-secret';
import {
  ContainerResources,
  defaultPoolMax,
  defaultWorkerHeapMb,
  defaultWorkerPoolSize,
  processShare,
  readContainerResources,
} from './config.resources';
import {
  LoadstarConfig,
  LogConfig,
  OperationsListenerConfig,
  PostsImportConfig,
  RateLimitTier,
  RateLimitTierName,
  TrustProxySetting,
} from './interfaces';

type Env = Readonly<Record<string, string | undefined>>;

const WINDOW_UNITS_MS: Record<string, number> = { s: 1_000, m: 60_000, h: 3_600_000 };
const LOG_LEVELS: readonly LogConfig['level'][] = [
  'fatal',
  'error',
  'warn',
  'info',
  'debug',
  'trace',
  'silent',
];
const ENVIRONMENTS: readonly LoadstarConfig['env'][] = ['development', 'production', 'test'];

/**
 * Reads one variable at a time and remembers every problem, so a bad start names all of
 * them at once instead of one per attempt.
 */
class EnvReader {
  readonly problems: string[] = [];

  constructor(private readonly env: Env) {}

  raw(name: string): string | undefined {
    const value = this.env[name]?.trim();
    return value === '' ? undefined : value;
  }

  int(name: string, fallback: number, min: number, max = Number.MAX_SAFE_INTEGER): number {
    const value = this.raw(name);
    if (value === undefined) return fallback;
    if (!/^\d+$/.test(value) || Number(value) < min || Number(value) > max) {
      return this.fail(name, `must be an integer from ${min} to ${max}`, fallback);
    }
    return Number(value);
  }

  bool(name: string, fallback: boolean): boolean {
    const value = this.raw(name)?.toLowerCase();
    if (value === undefined) return fallback;
    if (value === 'true' || value === '1') return true;
    if (value === 'false' || value === '0') return false;
    return this.fail(name, 'must be true or false', fallback);
  }

  oneOf<T extends string>(name: string, allowed: readonly T[], fallback: T): T {
    const value = this.raw(name);
    if (value === undefined) return fallback;
    if (!(allowed as readonly string[]).includes(value)) {
      return this.fail(name, `must be one of ${allowed.join(', ')}`, fallback);
    }
    return value as T;
  }

  url(name: string, protocols: readonly string[]): string | undefined {
    const value = this.raw(name);
    if (value === undefined) return undefined;
    return this.checkUrl(name, value, protocols) ? value : undefined;
  }

  urlList(name: string, protocols: readonly string[]): string[] {
    const value = this.raw(name);
    if (value === undefined) return [];
    const urls = value
      .split(',')
      .map((entry) => entry.trim())
      .filter(Boolean);
    return urls.every((url) => this.checkUrl(name, url, protocols)) ? urls : [];
  }

  /** 1 to 200 printable characters without spaces (a JWT claim's value). */
  token(name: string, fallback: string): string {
    const value = this.raw(name) ?? fallback;
    if (/^[\x21-\x7e]{1,200}$/.test(value)) return value;
    return this.fail(name, 'must be 1 to 200 printable characters without spaces', fallback);
  }

  tier(name: string, fallback: string): RateLimitTier {
    const value = this.raw(name) ?? fallback;
    const match = /^(\d+)\/(\d*)([smh])$/.exec(value);
    const limit = Number(match?.[1]);
    const windowCount = match?.[2] === '' ? 1 : Number(match?.[2]);
    if (!match || limit < 1 || windowCount < 1) {
      return this.fail(name, 'must look like count/window, e.g. 600/1m, 10/15m or 5/30s', {
        limit: 1,
        ttlMs: 1_000,
      });
    }
    return { limit, ttlMs: windowCount * WINDOW_UNITS_MS[match[3]] };
  }

  fail<T>(name: string, why: string, fallback: T): T {
    this.problems.push(`${name} ${why}`);
    return fallback;
  }

  private checkUrl(name: string, value: string, protocols: readonly string[]): boolean {
    try {
      if (protocols.includes(new URL(value).protocol)) return true;
    } catch {
      // reported below, like a URL of the wrong scheme
    }
    this.problems.push(`${name} must be a URL starting with ${protocols.join(' or ')}//`);
    return false;
  }
}

/** An IPv4 or IPv6 address, optionally with a prefix length (`10.0.0.0/8`, `fd00::/8`). */
function isAddressOrCidr(entry: string): boolean {
  const [address, prefix, ...rest] = entry.split('/');
  const family = isIP(address);
  if (family === 0 || rest.length > 0) return false;
  if (prefix === undefined) return true;
  return /^\d{1,3}$/.test(prefix) && Number(prefix) <= (family === 4 ? 32 : 128);
}

/**
 * Only a hop count or the proxies' addresses: `true` would trust every `X-Forwarded-For`
 * entry, so behind a proxy that appends (as ingress controllers and cloud balancers do) the
 * client's own left-most entry would become its address, and with it its rate-limit key.
 */
function parseTrustProxy(reader: EnvReader): TrustProxySetting {
  const value = reader.raw('TRUST_PROXY');
  if (value === undefined || value === 'false' || value === '0') return false;
  if (value === 'true') {
    return reader.fail(
      'TRUST_PROXY',
      'must not be true (it trusts every X-Forwarded-For entry, so a client picks its own address): set the number of proxies in front of the app (1 behind one nginx, ingress or load balancer) or their addresses/CIDRs (e.g. 10.0.0.0/8)',
      false,
    );
  }
  if (/^\d+$/.test(value)) return reader.int('TRUST_PROXY', 0, 0, 16);
  const entries = value.split(',').map((entry) => entry.trim());
  if (entries.every(isAddressOrCidr)) return entries;
  return reader.fail(
    'TRUST_PROXY',
    'must be false, a hop count (the number of proxies in front of the app) or a comma-separated list of proxy addresses/CIDRs',
    false,
  );
}

function parseCorsOrigins(reader: EnvReader): boolean | string[] {
  const value = reader.raw('CORS_ORIGINS');
  if (value === undefined) return false;
  if (value === '*') return true;
  const origins = value.split(',').map((entry) => entry.trim());
  const isOrigin = (origin: string) => {
    try {
      return new URL(origin).origin === origin;
    } catch {
      return false;
    }
  };
  if (origins.every(isOrigin)) return origins;
  return reader.fail(
    'CORS_ORIGINS',
    'must be * or a comma-separated list of origins like https://app.example.com',
    false,
  );
}

const RATE_LIMIT_KEY_PREFIX = /^[\x21-\x7e]{1,100}$/;

function parseRateLimitKeyPrefix(reader: EnvReader): string {
  const value = reader.raw('RATE_LIMIT_KEY_PREFIX') ?? 'loadstar:rate-limit:';
  if (RATE_LIMIT_KEY_PREFIX.test(value)) return value;
  return reader.fail(
    'RATE_LIMIT_KEY_PREFIX',
    'must be 1 to 100 printable characters without spaces',
    value,
  );
}

function parseRowQuota(reader: EnvReader): PostsImportConfig['rowQuota'] {
  const { limit, ttlMs } = reader.tier('IMPORT_ROW_QUOTA', '1000000/1h');
  return { rows: limit, windowMs: ttlMs };
}

/**
 * `OPS_PORT` moves the operations routes (health, metrics, OpenAPI) to a listener of their own,
 * off the public port; unset, they stay on the public listener.
 */
function parseOperationsListener(
  reader: EnvReader,
  port: number,
  host: string,
): OperationsListenerConfig | undefined {
  if (reader.raw('OPS_PORT') === undefined) return undefined;
  const opsPort = reader.int('OPS_PORT', 0, 0, 65_535);
  if (opsPort !== 0 && opsPort === port) {
    return reader.fail('OPS_PORT', `must differ from PORT (${port})`, undefined);
  }
  return { port: opsPort, host: reader.raw('OPS_HOST') ?? host };
}

/** Shortest `METRICS_TOKEN` accepted: a guessable token protects nothing. */
const MIN_METRICS_TOKEN_LENGTH = 16;

function parseMetricsToken(reader: EnvReader): string | undefined {
  const token = reader.raw('METRICS_TOKEN');
  if (token === undefined) return undefined;
  if (token.length >= MIN_METRICS_TOKEN_LENGTH && /^[\x21-\x7e]+$/.test(token)) return token;
  return reader.fail(
    'METRICS_TOKEN',
    `must be at least ${MIN_METRICS_TOKEN_LENGTH} printable characters without spaces`,
    undefined,
  );
}

function parseClusterWorkers(reader: EnvReader, cpus: number): number {
  if (reader.raw('CLUSTER_WORKERS') === 'max') return Math.max(1, Math.floor(cpus));
  return reader.int('CLUSTER_WORKERS', 0, 0, 64);
}

/**
 * Parses and validates the whole configuration from environment variables (contract §1).
 * Usable before dependency injection (bootstrap, `ormconfig.ts`, scripts).
 *
 * The defaults of the database pool and the worker pool come from the CPUs and memory this
 * process may use: the container's limits (cgroup), shared equally among the processes started
 * side by side (`PROCESS_INSTANCES`, and `CLUSTER_WORKERS` with its standby).
 *
 * @param resources the machine's or container's CPUs and memory
 * @throws ConfigValidationError naming every invalid variable in one line.
 * @example const config = parseEnvironment(process.env);
 */
export function parseEnvironment(
  env: Env = process.env,
  cwd = process.cwd(),
  resources: ContainerResources = readContainerResources(),
): LoadstarConfig {
  const reader = new EnvReader(env);
  const nodeEnv = reader.oneOf('NODE_ENV', ENVIRONMENTS, 'development');
  const production = nodeEnv === 'production';

  const databaseUrl = reader.url('DATABASE_URL', ['postgres:', 'postgresql:']);
  if (production && reader.raw('DATABASE_URL') === undefined) {
    reader.problems.push('DATABASE_URL is required when NODE_ENV=production');
  }
  const jwtSecret = reader.raw('JWT_SECRET');
  if (production && jwtSecret === undefined) {
    reader.problems.push('JWT_SECRET is required when NODE_ENV=production');
  } else if (jwtSecret !== undefined && jwtSecret.length < 32) {
    reader.problems.push('JWT_SECRET must be at least 32 characters');
  } else if (production && jwtSecret !== undefined) {
    const weakness = weakJwtSecret(jwtSecret);
    if (weakness !== undefined) {
      reader.problems.push(
        `JWT_SECRET ${weakness} when NODE_ENV=production; generate one: openssl rand -base64 48`,
      );
    }
  }

  const passwordCostLog2 = reader.int('PASSWORD_SCRYPT_COST_LOG2', 17, 10, 20);
  if (production && passwordCostLog2 < 17) {
    reader.problems.push(
      'PASSWORD_SCRYPT_COST_LOG2 must be at least 17 when NODE_ENV=production (OWASP: N=2^17)',
    );
  }

  const instances = reader.int('PROCESS_INSTANCES', 1, 1, 1_024);
  const clusterWorkers = parseClusterWorkers(reader, resources.cpus / instances);
  // every cluster worker, the standby included, builds a whole application with its pools
  const share = processShare(resources, instances * (clusterWorkers > 0 ? clusterWorkers + 1 : 1));
  const poolMax = reader.int('DB_POOL_MAX', defaultPoolMax(share), 1, 1_000);
  const workerPoolSize = reader.int('WORKER_POOL_SIZE', defaultWorkerPoolSize(share), 1, 256);
  const workerHeapMb = reader.int(
    'WORKER_POOL_HEAP_MB',
    defaultWorkerHeapMb(share, workerPoolSize),
    16,
    65_536,
  );
  const tiers: Record<RateLimitTierName, RateLimitTier> = {
    default: reader.tier('RATE_LIMIT_DEFAULT', '600/1m'),
    auth: reader.tier('RATE_LIMIT_AUTH', '10/15m'),
    authAccountAddress: reader.tier('RATE_LIMIT_AUTH_ACCOUNT_ADDRESS', '5/15m'),
    authAccount: reader.tier('RATE_LIMIT_AUTH_ACCOUNT', '20/1h'),
    register: reader.tier('RATE_LIMIT_REGISTER', '10/1h'),
    expensive: reader.tier('RATE_LIMIT_EXPENSIVE', '30/1m'),
  };

  const port = reader.int('PORT', 3000, 0, 65_535);
  const host = reader.raw('HOST') ?? '0.0.0.0';
  const rateLimitEnabled = reader.bool('RATE_LIMIT_ENABLED', true);
  const rateLimitFailOpen = reader.bool('RATE_LIMIT_FAIL_OPEN', true);

  const config: LoadstarConfig = {
    env: nodeEnv,
    version: reader.raw('npm_package_version') ?? '0.1.0',
    http: {
      port,
      host,
      operations: parseOperationsListener(reader, port, host),
      docsEnabled: reader.bool('DOCS_ENABLED', !production),
      trustProxy: parseTrustProxy(reader),
      bodyLimitBytes: 1_048_576,
      shutdownTimeoutMs: reader.int('SHUTDOWN_TIMEOUT_MS', 10_000, 0, 600_000),
      shutdownDelayMs: reader.int('SHUTDOWN_DELAY_MS', 0, 0, 600_000),
      corsOrigins: parseCorsOrigins(reader),
      shedding: {
        maxEventLoopDelayMs: reader.int('SHED_EVENT_LOOP_DELAY_MS', 1_000, 0, 600_000),
        maxHeapUsedRatio: reader.int('SHED_HEAP_USED_PERCENT', 90, 0, 100) / 100,
      },
    },
    database: {
      url: databaseUrl,
      replicaUrls: reader.urlList('DATABASE_REPLICA_URLS', ['postgres:', 'postgresql:']),
      poolMax,
      poolMin: reader.int('DB_POOL_MIN', Math.min(2, poolMax), 0, poolMax),
      poolIdleMs: reader.int('DB_POOL_IDLE_MS', 30_000, 0),
      connectTimeoutMs: reader.int('DB_CONNECT_TIMEOUT_MS', 2_000, 1),
      statementTimeoutMs: reader.int('DB_STATEMENT_TIMEOUT_MS', 5_000, 1),
      poolMaxUses: reader.int('DB_POOL_MAX_USES', 7_500, 1),
      embeddedDataDir: resolve(cwd, '.data', 'postgres'),
      migrationsRun: !production,
    },
    redis: {
      url: reader.url('REDIS_URL', ['redis:', 'rediss:']),
      // Without Redis the app serves (cache and limiter fail open) unless the limiter fails
      // closed: then every limited route is a 503 and readiness should say so.
      required: reader.bool('REDIS_REQUIRED', rateLimitEnabled && !rateLimitFailOpen),
    },
    cache: {
      enabled: reader.bool('CACHE_ENABLED', true),
      defaultTtlS: reader.int('CACHE_TTL_S', 300, 1, 31_536_000),
      l1MaxEntries: reader.int('CACHE_L1_MAX_ENTRIES', 10_000, 1, 10_000_000),
      l1MaxBytes: reader.int('CACHE_L1_MAX_MB', 64, 1, 65_536) * 1_048_576,
      l1TtlMs: reader.int('CACHE_L1_TTL_MS', 5_000, 1, 3_600_000),
      redisTimeoutMs: reader.int('CACHE_REDIS_TIMEOUT_MS', 100, 1, 60_000),
    },
    rateLimit: {
      enabled: rateLimitEnabled,
      tiers,
      slowdownMaxDelayMs: reader.int('RATE_LIMIT_AUTH_ACCOUNT_MAX_DELAY_S', 60, 1, 3_600) * 1_000,
      failOpen: rateLimitFailOpen,
      keyPrefix: parseRateLimitKeyPrefix(reader),
    },
    metrics: { enabled: reader.bool('METRICS_ENABLED', true), token: parseMetricsToken(reader) },
    cluster: { workers: clusterWorkers },
    workerPool: {
      size: workerPoolSize,
      maxQueue: reader.int('WORKER_POOL_MAX_QUEUE', 64 * workerPoolSize, 0),
      taskTimeoutMs: reader.int('WORKER_TASK_TIMEOUT_MS', 30_000, 1),
      offload: reader.bool('WORKER_OFFLOAD', true),
      resourceLimits: { maxOldGenerationSizeMb: workerHeapMb },
    },
    posts: {
      export: {
        maxConcurrent: reader.int('EXPORT_MAX_CONCURRENT', 1, 1, 100),
        stallTimeoutMs: reader.int('EXPORT_STALL_TIMEOUT_MS', 30_000, 100, 3_600_000),
        timeoutMs: reader.int('EXPORT_TIMEOUT_MS', 3_600_000, 1_000, 86_400_000),
      },
      import: {
        maxRows: reader.int('IMPORT_MAX_ROWS', 200_000, 1, 10_000_000),
        rowQuota: parseRowQuota(reader),
      },
    },
    log: {
      level: reader.oneOf('LOG_LEVEL', LOG_LEVELS, 'info'),
      slowRequestMs: reader.int('LOG_SLOW_REQUEST_MS', 500, 0),
      pretty: nodeEnv === 'development',
    },
    auth: {
      jwtSecret: jwtSecret ?? randomBytes(48).toString('base64url'),
      jwtSecretGenerated: jwtSecret === undefined,
      jwtTtlS: reader.int('JWT_TTL_S', 3_600, 1, 31_536_000),
      jwtIssuer: reader.token('JWT_ISSUER', 'loadstar'),
      jwtAudience: reader.token('JWT_AUDIENCE', 'loadstar-api'),
      jwtClockToleranceS: reader.int('JWT_CLOCK_TOLERANCE_S', 5, 0, 300),
      passwordCostLog2,
    },
  };

  if (reader.problems.length > 0) throw new ConfigValidationError(reader.problems);
  return config;
}
