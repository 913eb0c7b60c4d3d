import { randomBytes } from 'node:crypto';
import { isIP } from 'node:net';
import { resolve } from 'node:path';
import type { OperationsListenerOptions, TrustProxySetting } from '@app/http';
import type { LoggingModuleOptions } from '@app/logging';
import { DEFAULT_SENTINEL_MASTER, RedisConnectionOptions, RedisNode } from '@app/redis';
import type { RateLimitTier, RateLimitTierName } from '@app/throttler';
import { OTLP_PROTOCOLS, tracesEndpoint, tracesProtocol } from '@app/tracing';
import { ConfigValidationError } from './config.errors';
import { readEnvironment } from './env-file';
import {
  ContainerResources,
  defaultPoolMax,
  defaultWorkerHeapMb,
  defaultWorkerPoolSize,
  processShare,
  readContainerResources,
  scryptMemoryMb,
} from './container-resources';
import { weakJwtSecret } from './jwt-secret';
import { LoadstarConfig, PostsImportConfig, ProcessRole } from './loadstar-config';

type Env = Readonly<Record<string, string | undefined>>;

const MIB = 1_048_576;
const WINDOW_UNITS_MS: Record<string, number> = { s: 1_000, m: 60_000, h: 3_600_000 };
const LOG_LEVELS: readonly NonNullable<LoggingModuleOptions['level']>[] = [
  'fatal',
  'error',
  'warn',
  'info',
  'debug',
  'trace',
  'silent',
];
const PROCESS_ROLES: readonly ProcessRole[] = ['api', 'worker', 'all'];
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
    return this.optionalInt(name, min, max) ?? fallback;
  }

  /**
   * `undefined` when unset (or invalid, which is reported), so that the lib's own default
   * applies; `scale` converts the variable's unit to the option's (seconds to ms, MiB to bytes).
   */
  optionalInt(
    name: string,
    min: number,
    max = Number.MAX_SAFE_INTEGER,
    scale = 1,
  ): number | undefined {
    const value = this.raw(name);
    if (value === undefined) return undefined;
    if (!/^\d+$/.test(value) || Number(value) < min || Number(value) > max) {
      return this.fail(name, `must be an integer from ${min} to ${max}`, undefined);
    }
    return Number(value) * scale;
  }

  bool(name: string, fallback: boolean): boolean {
    return this.optionalBool(name) ?? fallback;
  }

  optionalBool(name: string): boolean | undefined {
    const value = this.raw(name)?.toLowerCase();
    if (value === undefined) return undefined;
    if (value === 'true' || value === '1') return true;
    if (value === 'false' || value === '0') return false;
    return this.fail(name, 'must be true or false', undefined);
  }

  oneOf<T extends string>(name: string, allowed: readonly T[], fallback?: T): T | undefined {
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

function parseRateLimitKeyPrefix(reader: EnvReader): string | undefined {
  const value = reader.raw('RATE_LIMIT_KEY_PREFIX');
  if (value === undefined || RATE_LIMIT_KEY_PREFIX.test(value)) return value;
  return reader.fail(
    'RATE_LIMIT_KEY_PREFIX',
    'must be 1 to 100 printable characters without spaces',
    value,
  );
}

const REDIS_TOPOLOGY_VARIABLES = ['REDIS_URL', 'REDIS_SENTINELS', 'REDIS_CLUSTER_NODES'] as const;

/** `host:port,host:port,…`; an IPv6 host in brackets (`[::1]:26379`). */
function parseRedisNodes(reader: EnvReader, name: string, value: string): RedisNode[] {
  const nodes: RedisNode[] = [];
  for (const entry of value.split(',').map((part) => part.trim())) {
    const match = /^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+):(\d{1,5})$/.exec(entry);
    const port = Number(match?.[2]);
    if (!match || port < 1 || port > 65_535) {
      return reader.fail(name, 'must be a comma-separated list of host:port', []);
    }
    nodes.push({ host: match[1].replace(/^\[|\]$/g, ''), port });
  }
  return nodes;
}

/** Settings of one topology, each meaningless (and so refused) without that topology's. */
const REDIS_TOPOLOGY_SETTINGS: Record<string, readonly string[]> = {
  REDIS_SENTINELS: [
    'REDIS_SENTINEL_MASTER',
    'REDIS_SENTINEL_MASTER_PASSWORD',
    'REDIS_SENTINEL_USERNAME',
    'REDIS_SENTINEL_PASSWORD',
  ],
  REDIS_CLUSTER_NODES: ['REDIS_CLUSTER_PASSWORD'],
};

/**
 * The app's Redis from exactly one of `REDIS_URL`, `REDIS_SENTINELS` (with
 * `REDIS_SENTINEL_MASTER` and the passwords) and `REDIS_CLUSTER_NODES`; two of them name
 * different Redis deployments, and picking one silently would split the app's state. A
 * topology's own setting without the topology (a password nothing would use) is refused too.
 */
function parseRedisConnection(reader: EnvReader): RedisConnectionOptions | undefined {
  const set = REDIS_TOPOLOGY_VARIABLES.filter((name) => reader.raw(name) !== undefined);
  if (set.length > 1) {
    return reader.fail(set.join(' and '), 'are both set: choose one Redis topology', undefined);
  }
  for (const [topology, settings] of Object.entries(REDIS_TOPOLOGY_SETTINGS)) {
    if (reader.raw(topology) !== undefined) continue;
    for (const name of settings.filter((setting) => reader.raw(setting) !== undefined)) {
      reader.problems.push(`${name} is set but ${topology} is not: it applies only to ${topology}`);
    }
  }
  const url = reader.url('REDIS_URL', ['redis:', 'rediss:']);
  if (url !== undefined) return { url };
  const sentinels = reader.raw('REDIS_SENTINELS');
  if (sentinels !== undefined) {
    const sentinelUsername = reader.raw('REDIS_SENTINEL_USERNAME');
    const sentinelPassword = reader.raw('REDIS_SENTINEL_PASSWORD');
    if (sentinelUsername !== undefined && sentinelPassword === undefined) {
      reader.problems.push(
        'REDIS_SENTINEL_USERNAME is set without REDIS_SENTINEL_PASSWORD: an ACL user needs both',
      );
    }
    return {
      sentinels: parseRedisNodes(reader, 'REDIS_SENTINELS', sentinels),
      masterName: reader.raw('REDIS_SENTINEL_MASTER') ?? DEFAULT_SENTINEL_MASTER,
      password: reader.raw('REDIS_SENTINEL_MASTER_PASSWORD'),
      sentinelUsername,
      sentinelPassword,
    };
  }
  const clusterNodes = reader.raw('REDIS_CLUSTER_NODES');
  if (clusterNodes !== undefined) {
    return {
      clusterNodes: parseRedisNodes(reader, 'REDIS_CLUSTER_NODES', clusterNodes),
      password: reader.raw('REDIS_CLUSTER_PASSWORD'),
    };
  }
  return undefined;
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
): OperationsListenerOptions | undefined {
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
 * Parses and validates the whole configuration from environment variables (the list is in
 * docs/configuration.md). Usable before dependency injection (bootstrap, `ormconfig.ts`,
 * scripts). Each namespace is built in the shape of the options of the lib it configures, units
 * converted here; a lib setting whose variable is unset stays `undefined`: its lib's default
 * applies, declared once in that lib.
 *
 * The defaults of the database pool and the worker pool come from the CPUs and memory this
 * process may use: the container's limits (cgroup), shared equally among the processes started
 * side by side (`PROCESS_INSTANCES`, and `CLUSTER_WORKERS` with its standby).
 *
 * @param env the variables; by default the process's, over those of `.env` (see
 *   {@link readEnvironment})
 * @param resources the machine's or container's CPUs and memory
 * @throws ConfigValidationError naming every invalid variable in one line.
 * @example const config = parseEnvironment();
 */
export function parseEnvironment(
  env: Env = readEnvironment(),
  cwd = process.cwd(),
  resources: ContainerResources = readContainerResources(),
): LoadstarConfig {
  const reader = new EnvReader(env);
  const nodeEnv = reader.oneOf('NODE_ENV', ENVIRONMENTS, 'development') ?? 'development';
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
  const hashMb = scryptMemoryMb(passwordCostLog2);
  const workerPoolSize = reader.int(
    'WORKER_POOL_SIZE',
    defaultWorkerPoolSize(share, hashMb),
    1,
    256,
  );
  const workerHeapMb = reader.int(
    'WORKER_POOL_HEAP_MB',
    defaultWorkerHeapMb(share, workerPoolSize, hashMb),
    16,
    65_536,
  );
  // the tiers that count every request; the credential tiers refund and reset, and stay exact
  const leaseShare = reader.int('RATE_LIMIT_LEASE_PERCENT', 1, 0, 50) / 100;
  const tiers: Record<RateLimitTierName, RateLimitTier> = {
    default: { ...reader.tier('RATE_LIMIT_DEFAULT', '600/1m'), leaseShare },
    auth: reader.tier('RATE_LIMIT_AUTH', '10/15m'),
    authAccountAddress: reader.tier('RATE_LIMIT_AUTH_ACCOUNT_ADDRESS', '5/15m'),
    authAccount: reader.tier('RATE_LIMIT_AUTH_ACCOUNT', '20/1h'),
    register: reader.tier('RATE_LIMIT_REGISTER', '10/1h'),
    expensive: { ...reader.tier('RATE_LIMIT_EXPENSIVE', '30/1m'), leaseShare },
  };

  const connectTimeoutMs = reader.int('DB_CONNECT_TIMEOUT_MS', 2_000, 1);
  const shutdownTimeoutMs = reader.int('SHUTDOWN_TIMEOUT_MS', 10_000, 0, 600_000);
  const processRole = reader.oneOf('PROCESS_ROLE', PROCESS_ROLES) ?? 'all';
  const port = reader.int('PORT', 3000, 0, 65_535);
  const host = reader.raw('HOST') ?? '0.0.0.0';
  const rateLimitEnabled = reader.bool('RATE_LIMIT_ENABLED', true);
  const rateLimitFailOpen = reader.bool('RATE_LIMIT_FAIL_OPEN', true);
  const redisConnection = parseRedisConnection(reader);

  const config: LoadstarConfig = {
    env: nodeEnv,
    http: {
      port,
      host,
      operations: parseOperationsListener(reader, port, host),
      docsEnabled: reader.bool('DOCS_ENABLED', !production),
      version: reader.raw('npm_package_version') ?? '0.1.0',
      trustProxy: parseTrustProxy(reader),
      bodyLimitBytes: 1_048_576,
      shutdownTimeoutMs,
      shutdownDelayMs: reader.int('SHUTDOWN_DELAY_MS', 0, 0, 600_000),
      corsOrigins: parseCorsOrigins(reader),
      operationsOnly: processRole === 'worker',
      shedding: {
        maxEventLoopDelayMs: reader.int('SHED_EVENT_LOOP_DELAY_MS', 1_000, 0, 600_000),
        maxHeapUsedRatio: reader.int('SHED_HEAP_USED_PERCENT', 90, 0, 100) / 100,
      },
    },
    database: {
      url: databaseUrl,
      replicaUrls: reader.urlList('DATABASE_REPLICA_URLS', ['postgres:', 'postgresql:']),
      replicaMaxLagMs: reader.int('DATABASE_REPLICA_MAX_LAG_MS', 5_000, 0, 3_600_000),
      replicaPollMs: reader.int('DATABASE_REPLICA_POLL_MS', 250, 50, 10_000),
      redisConnection,
      poolMax,
      poolMin: reader.int('DB_POOL_MIN', Math.min(2, poolMax), 0, poolMax),
      poolIdleMs: reader.int('DB_POOL_IDLE_MS', 30_000, 0),
      connectTimeoutMs,
      statementTimeoutMs: reader.int('DB_STATEMENT_TIMEOUT_MS', 5_000, 1),
      poolMaxUses: reader.int('DB_POOL_MAX_USES', 7_500, 1),
      embeddedDataDir: resolve(cwd, '.data', 'postgres'),
      migrationsRun: !production,
    },
    cache: {
      enabled: reader.optionalBool('CACHE_ENABLED'),
      fastPath: reader.optionalBool('CACHE_FAST_PATH'),
      redisConnection,
      defaultTtlMs: reader.optionalInt('CACHE_TTL_S', 1, 31_536_000, 1_000),
      l1: {
        maxEntries: reader.optionalInt('CACHE_L1_MAX_ENTRIES', 1, 10_000_000),
        maxBytes: reader.optionalInt('CACHE_L1_MAX_MB', 1, 65_536, MIB),
        ttlMs: reader.optionalInt('CACHE_L1_TTL_MS', 1, 3_600_000),
      },
      redis: { commandTimeoutMs: reader.optionalInt('CACHE_REDIS_TIMEOUT_MS', 1, 60_000) },
      lock: {
        ttlMs: reader.optionalInt('CACHE_LOCK_TTL_MS', 100, 60_000),
        waitMs: reader.optionalInt('CACHE_LOCK_WAIT_MS', 0, 60_000),
      },
    },
    rateLimit: {
      enabled: rateLimitEnabled,
      tiers,
      failOpen: rateLimitFailOpen,
      redisConnection,
      clusterWorkers,
      keyPrefix: parseRateLimitKeyPrefix(reader),
      slowdownMaxDelayMs: reader.optionalInt(
        'RATE_LIMIT_AUTH_ACCOUNT_MAX_DELAY_S',
        1,
        3_600,
        1_000,
      ),
    },
    health: {
      redisConnection,
      // Without Redis the app serves (cache and limiter fail open) unless the limiter fails
      // closed: then every limited route is a 503 and readiness should say so.
      redisRequired: reader.bool('REDIS_REQUIRED', rateLimitEnabled && !rateLimitFailOpen),
      detailedErrors: !production,
      pingTimeoutMs: connectTimeoutMs,
    },
    metrics: {
      enabled: reader.optionalBool('METRICS_ENABLED'),
      token: parseMetricsToken(reader),
      clusterWorker: clusterWorkers > 0,
    },
    clusterWorkers,
    processRole,
    jobs: {
      work: processRole !== 'api',
      pollIntervalMs: reader.optionalInt('JOBS_POLL_INTERVAL_MS', 10, 600_000),
      stallTimeoutMs: reader.optionalInt('JOBS_STALL_TIMEOUT_MS', 1_000, 3_600_000),
      drainTimeoutMs: shutdownTimeoutMs,
    },
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
        uploadsSweepMs: reader.int('IMPORT_UPLOADS_SWEEP_MS', 60_000, 100, 86_400_000),
      },
    },
    idempotency: {
      ttlMs: reader.optionalInt('IDEMPOTENCY_TTL_S', 60, 2_592_000, 1_000),
      lockTimeoutMs: reader.optionalInt('IDEMPOTENCY_LOCK_TIMEOUT_MS', 100, 3_600_000),
      waitMs: reader.optionalInt('IDEMPOTENCY_WAIT_MS', 0, 600_000),
    },
    log: {
      level: reader.oneOf('LOG_LEVEL', LOG_LEVELS),
      slowRequestMs: reader.optionalInt('LOG_SLOW_REQUEST_MS', 0),
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
  checkTracing(reader, env);

  if (reader.problems.length > 0) throw new ConfigValidationError(reader.problems);
  return config;
}

/**
 * The OpenTelemetry SDK reads its own variables (`startTracing`, docs/tracing.md); the two it
 * would otherwise fall back on silently are checked here with the rest: a protocol without an
 * exporter in this build would leave tracing off, a bad ratio would sample everything.
 */
function checkTracing(reader: EnvReader, env: Env): void {
  if (tracesEndpoint(env) === undefined) return;
  if (tracesProtocol(env) === undefined) {
    reader.problems.push(
      `OTEL_EXPORTER_OTLP_PROTOCOL must be one of ${OTLP_PROTOCOLS.join(', ')} (no grpc exporter)`,
    );
  }
  const ratio = reader.raw('OTEL_TRACES_SAMPLER_ARG');
  if (ratio !== undefined && !(Number(ratio) >= 0 && Number(ratio) <= 1)) {
    reader.problems.push('OTEL_TRACES_SAMPLER_ARG must be a number from 0 to 1');
  }
}
