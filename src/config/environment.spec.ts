import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigValidationError } from './config.errors';
import { readEnvironment } from './env-file';
import { parseEnvironment } from './environment';

describe('parseEnvironment', () => {
  describe('#defaults', () => {
    it('gives the documented defaults for an empty environment', () => {
      const config = parseEnvironment({}, '/srv/app');
      expect(config.env).toBe('development');
      expect(config.http).toMatchObject({ port: 3000, host: '0.0.0.0', trustProxy: false });
      expect(config.database).toMatchObject({
        url: undefined,
        poolMin: 2,
        poolIdleMs: 30_000,
        connectTimeoutMs: 2_000,
        statementTimeoutMs: 5_000,
        poolMaxUses: 7_500,
        replicaUrls: [],
        replicaMaxLagMs: 5_000,
        replicaPollMs: 250,
        embeddedDataDir: '/srv/app/.data/postgres',
        migrationsRun: true,
      });
      expect(config.rateLimit).toEqual({
        enabled: true,
        failOpen: true,
        redisConnection: undefined,
        clusterWorkers: 0,
        keyPrefix: undefined,
        slowdownMaxDelayMs: undefined,
        tiers: {
          default: { limit: 600, ttlMs: 60_000, leaseShare: 0.01 },
          auth: { limit: 10, ttlMs: 900_000 },
          authAccountAddress: { limit: 5, ttlMs: 900_000 },
          authAccount: { limit: 20, ttlMs: 3_600_000 },
          register: { limit: 10, ttlMs: 3_600_000 },
          expensive: { limit: 30, ttlMs: 60_000, leaseShare: 0.01 },
        },
      });
      // unset lib settings stay unset: the lib's own default (declared once, in the lib) applies
      expect(config.cache).toEqual({
        enabled: undefined,
        redisConnection: undefined,
        defaultTtlMs: undefined,
        l1: { maxEntries: undefined, maxBytes: undefined, ttlMs: undefined },
        redis: { commandTimeoutMs: undefined },
        lock: { ttlMs: undefined, waitMs: undefined },
      });
      expect(config.log).toEqual({ level: undefined, slowRequestMs: undefined, pretty: true });
      expect(config.metrics).toEqual({
        enabled: undefined,
        token: undefined,
        clusterWorker: false,
      });
      expect(config.clusterWorkers).toBe(0);
      expect(config.workerPool).toMatchObject({ taskTimeoutMs: 30_000, offload: true });
      expect(config.workerPool.maxQueue).toBe(64 * config.workerPool.size);
      expect(config.auth.jwtSecretGenerated).toBe(true);
      expect(config.posts).toEqual({
        export: { maxConcurrent: 1, stallTimeoutMs: 30_000, timeoutMs: 3_600_000 },
        import: {
          maxRows: 200_000,
          rowQuota: { rows: 1_000_000, windowMs: 3_600_000 },
          uploadsSweepMs: 60_000,
        },
      });
      expect(config.idempotency).toEqual({
        ttlMs: undefined,
        lockTimeoutMs: undefined,
        waitMs: undefined,
      });
    });
  });

  describe('#validation', () => {
    it('names every bad variable in one error', () => {
      const attempt = () =>
        parseEnvironment({
          PORT: 'eighty',
          DATABASE_URL: 'mysql://x',
          RATE_LIMIT_AUTH: 'ten per minute',
          LOG_LEVEL: 'loud',
        });
      expect(attempt).toThrow(ConfigValidationError);
      try {
        attempt();
      } catch (error) {
        const { problems, message } = error as ConfigValidationError;
        expect(problems).toHaveLength(4);
        for (const name of ['PORT', 'DATABASE_URL', 'RATE_LIMIT_AUTH', 'LOG_LEVEL']) {
          expect(message).toContain(name);
        }
        expect(message.split('\n')).toHaveLength(1);
      }
    });

    it('refuses production without DATABASE_URL and JWT_SECRET', () => {
      expect(() => parseEnvironment({ NODE_ENV: 'production' })).toThrow(
        /DATABASE_URL is required.*JWT_SECRET is required/,
      );
    });

    describe('JWT_SECRET in production', () => {
      const production = (secret: string) => () =>
        parseEnvironment({
          NODE_ENV: 'production',
          DATABASE_URL: 'postgres://db/app',
          JWT_SECRET: secret,
        });

      it.each([
        [
          'openssl rand -hex 32',
          '6f1c2b0e9a4d8f7e3c5b1a2d4e6f8091a3b5c7d9e1f2a4b6c8d0e2f4a6b8c0d2',
        ],
        ['openssl rand -hex 16', 'c3e9a1f04b7d2e8a6c1f9b3d5e7a0c42'],
        [
          'openssl rand -base64 48',
          'm1Q8xZ/4vT7+Kc2WnR9bLp0dYh3sJf6gUe5aXo8iVr1tNq7wCk4yHz2BjM6lPx0E',
        ],
        ['openssl rand -base64 24', 'J8r2Wq+Z5mN1xT4vB7kD0pL3sH6gF9yC'],
      ])('accepts a generated secret (%s)', (_, secret) => {
        expect(production(secret)().auth.jwtSecret).toBe(secret);
      });

      it.each([
        [
          'the placeholder of deploy/k8s/secret.yaml',
          'change-me-to-at-least-32-random-characters',
          /placeholder/,
        ],
        [
          'the placeholder in capitals',
          'CHANGE-ME-TO-AT-LEAST-32-RANDOM-CHARACTERS',
          /placeholder/,
        ],
        ['a value with placeholder words', 'my-super-secret-jwt-signing-key-2024!', /placeholder/],
        ['one character repeated', 'x'.repeat(64), /entropy/],
        ['two characters alternating', 'ab'.repeat(32), /entropy/],
        ['digits only, too few bits', '1234567890'.repeat(3) + '12', /entropy/],
        ['a short hex string', 'deadbeef'.repeat(4).slice(0, 31), /at least 32 characters/],
      ])('refuses %s, naming the variable', (_, secret, why) => {
        expect(production(secret)).toThrow(ConfigValidationError);
        expect(production(secret)).toThrow(/JWT_SECRET/);
        expect(production(secret)).toThrow(why);
      });

      it('lets development use any secret of 32 characters or more', () => {
        expect(
          parseEnvironment({ JWT_SECRET: 'change-me-to-at-least-32-random-characters' }).auth
            .jwtSecret,
        ).toBe('change-me-to-at-least-32-random-characters');
      });
    });

    it('reads the token claims and the clock tolerance, and names the bad ones', () => {
      expect(parseEnvironment({}).auth).toMatchObject({
        jwtIssuer: 'loadstar',
        jwtAudience: 'loadstar-api',
        jwtClockToleranceS: 5,
        jwtTtlS: 3_600,
      });
      expect(
        parseEnvironment({
          JWT_ISSUER: 'https://id.example',
          JWT_AUDIENCE: 'app',
          JWT_CLOCK_TOLERANCE_S: '0',
        }).auth,
      ).toMatchObject({
        jwtIssuer: 'https://id.example',
        jwtAudience: 'app',
        jwtClockToleranceS: 0,
      });
      expect(() =>
        parseEnvironment({ JWT_ISSUER: 'two words', JWT_CLOCK_TOLERANCE_S: '3600' }),
      ).toThrow(/JWT_ISSUER.*JWT_CLOCK_TOLERANCE_S/);
    });

    it('hashes passwords at N=2^17 by default, and refuses less in production', () => {
      expect(parseEnvironment({}).auth.passwordCostLog2).toBe(17);
      expect(parseEnvironment({ PASSWORD_SCRYPT_COST_LOG2: '12' }).auth.passwordCostLog2).toBe(12);
      expect(() => parseEnvironment({ PASSWORD_SCRYPT_COST_LOG2: '9' })).toThrow(
        /PASSWORD_SCRYPT_COST_LOG2 must be an integer from 10 to 20/,
      );
      expect(() =>
        parseEnvironment({
          NODE_ENV: 'production',
          DATABASE_URL: 'postgres://db/app',
          JWT_SECRET: 'J8r2Wq+Z5mN1xT4vB7kD0pL3sH6gF9yC',
          PASSWORD_SCRYPT_COST_LOG2: '16',
        }),
      ).toThrow(/PASSWORD_SCRYPT_COST_LOG2 must be at least 17 when NODE_ENV=production/);
    });

    it('reads the cache tuning variables and names the bad ones', () => {
      const cache = parseEnvironment({
        CACHE_L1_MAX_ENTRIES: '500',
        CACHE_L1_MAX_MB: '2',
        CACHE_L1_TTL_MS: '250',
        CACHE_REDIS_TIMEOUT_MS: '20',
        CACHE_TTL_S: '60',
      }).cache;
      expect(cache).toMatchObject({
        defaultTtlMs: 60_000,
        l1: { maxEntries: 500, maxBytes: 2 * 1_048_576, ttlMs: 250 },
        redis: { commandTimeoutMs: 20 },
      });
      expect(() =>
        parseEnvironment({ CACHE_L1_MAX_MB: '0', CACHE_REDIS_TIMEOUT_MS: '1s' }),
      ).toThrow(/CACHE_L1_MAX_MB.*CACHE_REDIS_TIMEOUT_MS/);
    });

    it('limits unless RATE_LIMIT_ENABLED says false', () => {
      expect(parseEnvironment({ RATE_LIMIT_ENABLED: '0' }).rateLimit.enabled).toBe(false);
      expect(() => parseEnvironment({ RATE_LIMIT_ENABLED: 'no' })).toThrow(/RATE_LIMIT_ENABLED/);
    });

    it('turns the cache on unless CACHE_ENABLED says false', () => {
      expect(parseEnvironment({ CACHE_ENABLED: 'false' }).cache.enabled).toBe(false);
      expect(() => parseEnvironment({ CACHE_ENABLED: 'off' })).toThrow(/CACHE_ENABLED/);
    });

    it.each([
      ['5/30s', { limit: 5, ttlMs: 30_000 }],
      ['100/m', { limit: 100, ttlMs: 60_000 }],
      ['2/2h', { limit: 2, ttlMs: 7_200_000 }],
    ])('parses the tier %s', (value, tier) => {
      expect(parseEnvironment({ RATE_LIMIT_EXPENSIVE: value }).rateLimit.tiers.expensive).toEqual({
        ...tier,
        leaseShare: 0.01,
      });
    });

    it('reads the lease share of the tiers that count every request, never of credential tiers', () => {
      const { tiers } = parseEnvironment({ RATE_LIMIT_LEASE_PERCENT: '5' }).rateLimit;
      expect([tiers.default.leaseShare, tiers.expensive.leaseShare]).toEqual([0.05, 0.05]);
      for (const name of ['auth', 'authAccountAddress', 'authAccount', 'register'] as const) {
        expect(tiers[name].leaseShare).toBeUndefined();
      }
      expect(() => parseEnvironment({ RATE_LIMIT_LEASE_PERCENT: '60' })).toThrow(
        /RATE_LIMIT_LEASE_PERCENT/,
      );
    });

    it.each([
      [{}, false],
      [{ RATE_LIMIT_FAIL_OPEN: 'false' }, true],
      [{ RATE_LIMIT_FAIL_OPEN: 'false', RATE_LIMIT_ENABLED: 'false' }, false],
      [{ RATE_LIMIT_FAIL_OPEN: 'false', REDIS_REQUIRED: 'false' }, false],
      [{ REDIS_REQUIRED: 'true' }, true],
    ])('REDIS_REQUIRED for %j is %s', (env, required) => {
      expect(parseEnvironment(env).health.redisRequired).toBe(required);
    });

    it('serves the operations routes on the public listener unless OPS_PORT is set', () => {
      expect(parseEnvironment({}).http.operations).toBeUndefined();
      expect(parseEnvironment({ OPS_PORT: '9464' }).http.operations).toEqual({
        port: 9464,
        host: '0.0.0.0',
      });
      expect(
        parseEnvironment({ HOST: '10.1.2.3', OPS_PORT: '9464', OPS_HOST: '127.0.0.1' }).http
          .operations,
      ).toEqual({ port: 9464, host: '127.0.0.1' });
      expect(() => parseEnvironment({ PORT: '8080', OPS_PORT: '8080' })).toThrow(
        /OPS_PORT must differ from PORT/,
      );
    });

    it('serves OpenAPI by default except in production', () => {
      const production = {
        NODE_ENV: 'production',
        DATABASE_URL: 'postgres://app@db/app',
        JWT_SECRET: 'Zx8!qT2#vLp9@rW4$mN7^bK3&hJ6*cF1(gD5)sA0',
      };
      expect(parseEnvironment({}).http.docsEnabled).toBe(true);
      expect(parseEnvironment(production).http.docsEnabled).toBe(false);
      expect(parseEnvironment({ ...production, DOCS_ENABLED: 'true' }).http.docsEnabled).toBe(true);
    });

    it('reads METRICS_TOKEN and refuses a short one', () => {
      expect(parseEnvironment({}).metrics.token).toBeUndefined();
      expect(parseEnvironment({ METRICS_TOKEN: 'a'.repeat(16) }).metrics.token).toBe(
        'a'.repeat(16),
      );
      expect(() => parseEnvironment({ METRICS_TOKEN: 'short' })).toThrow(/METRICS_TOKEN/);
      expect(() => parseEnvironment({ METRICS_TOKEN: 'has a space in it!' })).toThrow(
        /METRICS_TOKEN/,
      );
    });

    it('reads the login and registration limits and names the bad ones', () => {
      const { rateLimit } = parseEnvironment({
        RATE_LIMIT_AUTH_ACCOUNT_ADDRESS: '3/5m',
        RATE_LIMIT_AUTH_ACCOUNT: '50/1h',
        RATE_LIMIT_AUTH_ACCOUNT_MAX_DELAY_S: '30',
        RATE_LIMIT_REGISTER: '5/1h',
      });
      expect(rateLimit.tiers).toMatchObject({
        authAccountAddress: { limit: 3, ttlMs: 300_000 },
        authAccount: { limit: 50, ttlMs: 3_600_000 },
        register: { limit: 5, ttlMs: 3_600_000 },
      });
      expect(rateLimit.slowdownMaxDelayMs).toBe(30_000);
      expect(() =>
        parseEnvironment({
          RATE_LIMIT_AUTH_ACCOUNT: 'many',
          RATE_LIMIT_AUTH_ACCOUNT_MAX_DELAY_S: '0',
          RATE_LIMIT_REGISTER: '0/1h',
        }),
      ).toThrow(
        /RATE_LIMIT_AUTH_ACCOUNT .*RATE_LIMIT_REGISTER.*RATE_LIMIT_AUTH_ACCOUNT_MAX_DELAY_S/,
      );
    });

    it('reads RATE_LIMIT_KEY_PREFIX and refuses one with spaces', () => {
      expect(parseEnvironment({ RATE_LIMIT_KEY_PREFIX: 'app2:rl:' }).rateLimit.keyPrefix).toBe(
        'app2:rl:',
      );
      expect(() => parseEnvironment({ RATE_LIMIT_KEY_PREFIX: 'a b' })).toThrow(
        /RATE_LIMIT_KEY_PREFIX/,
      );
    });

    it.each([
      ['false', false],
      ['0', false],
      ['2', 2],
      ['10.0.0.0/8, 127.0.0.1', ['10.0.0.0/8', '127.0.0.1']],
      ['fd00::/8,::1', ['fd00::/8', '::1']],
    ])('parses TRUST_PROXY=%s', (value, expected) => {
      expect(parseEnvironment({ TRUST_PROXY: value }).http.trustProxy).toEqual(expected);
    });

    it('refuses TRUST_PROXY=true, saying what to set instead', () => {
      expect(() => parseEnvironment({ TRUST_PROXY: 'true' })).toThrow(
        /TRUST_PROXY must not be true .*number of proxies.*addresses\/CIDRs/,
      );
    });

    it.each(['10.0.0.0/33', '300.1.1.1', '::1/129', 'proxy.internal', '1.2.3.4/8/9', '17'])(
      'refuses TRUST_PROXY=%s',
      (value) => {
        expect(() => parseEnvironment({ TRUST_PROXY: value })).toThrow(/TRUST_PROXY/);
      },
    );

    it('reads the worker pool variables', () => {
      const config = parseEnvironment(
        {
          WORKER_POOL_SIZE: '3',
          WORKER_OFFLOAD: 'false',
          WORKER_TASK_TIMEOUT_MS: '500',
          WORKER_POOL_HEAP_MB: '100',
        },
        '/srv/app',
        { cpus: 8, memoryMb: 8192 },
      );
      expect(config.workerPool).toEqual({
        size: 3,
        maxQueue: 192,
        taskTimeoutMs: 500,
        offload: false,
        resourceLimits: { maxOldGenerationSizeMb: 100 },
      });
      expect(() => parseEnvironment({ WORKER_OFFLOAD: 'maybe' })).toThrow(/WORKER_OFFLOAD/);
    });

    it('reads the export and import bounds and names the bad ones', () => {
      const { posts } = parseEnvironment({
        EXPORT_MAX_CONCURRENT: '3',
        EXPORT_STALL_TIMEOUT_MS: '5000',
        EXPORT_TIMEOUT_MS: '600000',
        IMPORT_MAX_ROWS: '1000',
        IMPORT_ROW_QUOTA: '20000/15m',
        IMPORT_UPLOADS_SWEEP_MS: '5000',
      });
      expect(posts).toEqual({
        export: { maxConcurrent: 3, stallTimeoutMs: 5_000, timeoutMs: 600_000 },
        import: {
          maxRows: 1_000,
          rowQuota: { rows: 20_000, windowMs: 900_000 },
          uploadsSweepMs: 5_000,
        },
      });
      const attempt = () =>
        parseEnvironment({
          EXPORT_MAX_CONCURRENT: '0',
          EXPORT_STALL_TIMEOUT_MS: '30s',
          EXPORT_TIMEOUT_MS: '10',
          IMPORT_MAX_ROWS: '-1',
          IMPORT_ROW_QUOTA: '1000 per hour',
          IMPORT_UPLOADS_SWEEP_MS: '0',
        });
      expect(attempt).toThrow(
        /EXPORT_MAX_CONCURRENT.*EXPORT_STALL_TIMEOUT_MS.*EXPORT_TIMEOUT_MS.*IMPORT_MAX_ROWS.*IMPORT_ROW_QUOTA.*IMPORT_UPLOADS_SWEEP_MS/,
      );
    });

    it('reads the process role and the job timings and names the bad ones', () => {
      const defaults = parseEnvironment({ SHUTDOWN_TIMEOUT_MS: '4000' });
      expect(defaults.processRole).toBe('all');
      expect(defaults.jobs).toEqual({
        work: true,
        pollIntervalMs: undefined,
        stallTimeoutMs: undefined,
        drainTimeoutMs: 4_000,
      });
      expect(defaults.http.operationsOnly).toBe(false);
      const worker = parseEnvironment({
        PROCESS_ROLE: 'worker',
        JOBS_POLL_INTERVAL_MS: '250',
        JOBS_STALL_TIMEOUT_MS: '5000',
      });
      expect(worker.http.operationsOnly).toBe(true);
      expect(worker.jobs).toMatchObject({ work: true, pollIntervalMs: 250, stallTimeoutMs: 5_000 });
      expect(parseEnvironment({ PROCESS_ROLE: 'api' }).jobs.work).toBe(false);
      const attempt = () =>
        parseEnvironment({
          PROCESS_ROLE: 'batch',
          JOBS_POLL_INTERVAL_MS: '1',
          JOBS_STALL_TIMEOUT_MS: '30s',
        });
      expect(attempt).toThrow(/PROCESS_ROLE.*JOBS_POLL_INTERVAL_MS.*JOBS_STALL_TIMEOUT_MS/);
    });

    it('splits replica URLs and takes CLUSTER_WORKERS=max as the core count', () => {
      const config = parseEnvironment({
        DATABASE_REPLICA_URLS: 'postgres://a/db, postgres://b/db',
        CLUSTER_WORKERS: 'max',
      });
      expect(config.database.replicaUrls).toEqual(['postgres://a/db', 'postgres://b/db']);
      expect(config.clusterWorkers).toBeGreaterThan(0);
    });
  });

  describe('#redis topology', () => {
    it('gives every Redis user the same one-server connection from REDIS_URL', () => {
      const config = parseEnvironment({ REDIS_URL: 'redis://127.0.0.1:6380' });
      const connection = { url: 'redis://127.0.0.1:6380' };
      expect(config.cache.redisConnection).toEqual(connection);
      expect(config.rateLimit.redisConnection).toEqual(connection);
      expect(config.health.redisConnection).toEqual(connection);
    });

    it('reads the sentinels, the master name defaulting to mymaster', () => {
      const config = parseEnvironment({ REDIS_SENTINELS: 'a:26379, 10.0.0.2:26380,[::1]:26381' });
      expect(config.cache.redisConnection).toEqual({
        sentinels: [
          { host: 'a', port: 26379 },
          { host: '10.0.0.2', port: 26380 },
          { host: '::1', port: 26381 },
        ],
        masterName: 'mymaster',
      });
      const named = parseEnvironment({ REDIS_SENTINELS: 'a:1', REDIS_SENTINEL_MASTER: 'cache' });
      expect(named.rateLimit.redisConnection).toMatchObject({ masterName: 'cache' });
    });

    it('reads the passwords of the data nodes and of the sentinels, apart', () => {
      const config = parseEnvironment({
        REDIS_SENTINELS: 'a:26379',
        REDIS_SENTINEL_MASTER_PASSWORD: 'data-secret',
        REDIS_SENTINEL_USERNAME: 'watcher',
        REDIS_SENTINEL_PASSWORD: 'sentinel-secret',
      });
      expect(config.cache.redisConnection).toEqual({
        sentinels: [{ host: 'a', port: 26379 }],
        masterName: 'mymaster',
        password: 'data-secret',
        sentinelUsername: 'watcher',
        sentinelPassword: 'sentinel-secret',
      });
      expect(config.database.redisConnection).toEqual(config.cache.redisConnection);
    });

    it('refuses a sentinel username without its password', () => {
      expect(() =>
        parseEnvironment({ REDIS_SENTINELS: 'a:26379', REDIS_SENTINEL_USERNAME: 'watcher' }),
      ).toThrow('REDIS_SENTINEL_USERNAME is set without REDIS_SENTINEL_PASSWORD');
    });

    it.each([
      [
        { REDIS_URL: 'redis://a:6379', REDIS_SENTINEL_PASSWORD: 's' },
        'REDIS_SENTINEL_PASSWORD',
        'REDIS_SENTINELS',
      ],
      [
        { REDIS_SENTINEL_MASTER_PASSWORD: 's' },
        'REDIS_SENTINEL_MASTER_PASSWORD',
        'REDIS_SENTINELS',
      ],
      [
        { REDIS_CLUSTER_NODES: 'c:7000', REDIS_SENTINEL_MASTER: 'm' },
        'REDIS_SENTINEL_MASTER',
        'REDIS_SENTINELS',
      ],
      [
        { REDIS_SENTINELS: 'a:26379', REDIS_CLUSTER_PASSWORD: 's' },
        'REDIS_CLUSTER_PASSWORD',
        'REDIS_CLUSTER_NODES',
      ],
    ])('refuses a setting of another topology (%j)', (env, setting, topology) => {
      expect(() => parseEnvironment(env)).toThrow(
        `${setting} is set but ${topology} is not: it applies only to ${topology}`,
      );
    });

    it('reads the cluster seed nodes', () => {
      const config = parseEnvironment({ REDIS_CLUSTER_NODES: 'r1:7000,r2:7001' });
      expect(config.health.redisConnection).toEqual({
        clusterNodes: [
          { host: 'r1', port: 7000 },
          { host: 'r2', port: 7001 },
        ],
      });
      const protectedNodes = parseEnvironment({
        REDIS_CLUSTER_NODES: 'r1:7000',
        REDIS_CLUSTER_PASSWORD: 'secret',
      });
      expect(protectedNodes.cache.redisConnection).toMatchObject({ password: 'secret' });
    });

    it('refuses two topologies at once, naming both', () => {
      expect(() =>
        parseEnvironment({ REDIS_URL: 'redis://a:6379', REDIS_SENTINELS: 'b:26379' }),
      ).toThrow('REDIS_URL and REDIS_SENTINELS are both set');
      expect(() =>
        parseEnvironment({ REDIS_SENTINELS: 'b:26379', REDIS_CLUSTER_NODES: 'c:7000' }),
      ).toThrow('REDIS_SENTINELS and REDIS_CLUSTER_NODES are both set');
    });

    it('refuses a node list that is not host:port', () => {
      expect(() => parseEnvironment({ REDIS_SENTINELS: 'a:26379,b' })).toThrow(
        'REDIS_SENTINELS must be a comma-separated list of host:port',
      );
      expect(() => parseEnvironment({ REDIS_CLUSTER_NODES: 'a:70000' })).toThrow(
        'REDIS_CLUSTER_NODES must be a comma-separated list of host:port',
      );
    });
  });

  describe('#resources', () => {
    /** Pool sizes for an empty environment with these CPUs and MiB. */
    const sized = (cpus: number, memoryMb: number, env: Record<string, string> = {}) => {
      const { database, workerPool, clusterWorkers } = parseEnvironment(env, '/srv/app', {
        cpus,
        memoryMb,
      });
      return {
        poolMax: database.poolMax,
        threads: workerPool.size,
        heapMb: workerPool.resourceLimits?.maxOldGenerationSizeMb,
        workers: clusterWorkers,
      };
    };

    it("sizes the pools from the container's limits, not the node's cores", () => {
      // the pod of deploy/k8s: 2 CPUs and 512 MiB, whatever the node has
      // one thread: 64 MB of heap and the 128 MiB of a password hash at N=2^17
      expect(sized(2, 512)).toMatchObject({ poolMax: 5, threads: 1, heapMb: 64 });
      expect(sized(4, 512)).toMatchObject({ poolMax: 9, threads: 1, heapMb: 64 });
    });

    it('gives the worker threads a quarter of the memory, so memory bounds their count', () => {
      // 16 CPUs but 512 MiB: 1 thread of 64 MB (+128 MiB hashing), not 15 threads of 256 MB
      expect(sized(16, 512)).toMatchObject({ poolMax: 33, threads: 1, heapMb: 64 });
      // 2 GiB: a quarter holds 2 threads of 64 MB heap + 128 MiB hashing each, then heaps grow
      expect(sized(16, 2_048)).toMatchObject({ threads: 2, heapMb: 128 });
      // a large machine keeps one thread per spare core, each capped at 256 MB
      expect(sized(16, 65_536)).toMatchObject({ poolMax: 33, threads: 15, heapMb: 256 });
    });

    it('splits the machine among PROCESS_INSTANCES processes (PM2)', () => {
      // 16 instances on 16 CPUs: 16 × (3 + 1 health) = 64 connections, not 16 × (33 + 1)
      expect(sized(16, 32_768, { PROCESS_INSTANCES: '16' })).toMatchObject({
        poolMax: 3,
        threads: 1,
        heapMb: 256,
      });
    });

    it('splits it among the cluster workers and their standby', () => {
      // CLUSTER_WORKERS=max: one worker per CPU of the quota, plus the standby
      expect(sized(4, 4096, { CLUSTER_WORKERS: 'max' })).toMatchObject({
        workers: 4,
        poolMax: 3,
        threads: 1,
        heapMb: 76,
      });
      expect(sized(8, 8192, { CLUSTER_WORKERS: '3' })).toMatchObject({ workers: 3, poolMax: 5 });
    });

    it('lets the variables win and sizes the heaps for the threads asked for', () => {
      expect(sized(2, 2048, { DB_POOL_MAX: '7', WORKER_POOL_SIZE: '4' })).toMatchObject({
        poolMax: 7,
        threads: 4,
        heapMb: 64,
      });
      // a cheaper hash (N=2^14: 16 MiB) leaves more of the quarter to the heaps
      expect(
        sized(2, 2048, { WORKER_POOL_SIZE: '4', PASSWORD_SCRYPT_COST_LOG2: '14' }),
      ).toMatchObject({ threads: 4, heapMb: 112 });
      expect(() => parseEnvironment({ PROCESS_INSTANCES: '0', WORKER_POOL_HEAP_MB: '8' })).toThrow(
        /PROCESS_INSTANCES.*WORKER_POOL_HEAP_MB/,
      );
    });
  });

  describe('#http runtime', () => {
    it('defaults to no CORS, no shutdown delay and shedding at 1 s loop delay or 90 % heap', () => {
      expect(parseEnvironment({}).http).toMatchObject({
        shutdownTimeoutMs: 10_000,
        shutdownDelayMs: 0,
        corsOrigins: false,
        shedding: { maxEventLoopDelayMs: 1_000, maxHeapUsedRatio: 0.9 },
      });
    });

    it.each([
      ['*', true],
      [
        'https://app.example.com, http://localhost:5173',
        ['https://app.example.com', 'http://localhost:5173'],
      ],
    ])('parses CORS_ORIGINS=%s', (value, expected) => {
      expect(parseEnvironment({ CORS_ORIGINS: value }).http.corsOrigins).toEqual(expected);
    });

    it.each(['app.example.com', 'https://app.example.com/', 'https://a.example/x', '*,https://b'])(
      'refuses CORS_ORIGINS=%s',
      (value) => {
        expect(() => parseEnvironment({ CORS_ORIGINS: value })).toThrow(/CORS_ORIGINS/);
      },
    );

    it('reads the shutdown delay and the shedding thresholds', () => {
      const { http } = parseEnvironment({
        SHUTDOWN_DELAY_MS: '2000',
        SHED_EVENT_LOOP_DELAY_MS: '0',
        SHED_HEAP_USED_PERCENT: '75',
      });
      expect(http).toMatchObject({
        shutdownDelayMs: 2_000,
        shedding: { maxEventLoopDelayMs: 0, maxHeapUsedRatio: 0.75 },
      });
      expect(() => parseEnvironment({ SHED_HEAP_USED_PERCENT: '101' })).toThrow(
        /SHED_HEAP_USED_PERCENT/,
      );
    });
  });
});

describe('readEnvironment', () => {
  let dir: string;

  beforeEach(() => (dir = mkdtempSync(join(tmpdir(), 'loadstar-env-'))));
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it("adds the variables of the project's .env, the environment winning over the file", () => {
    writeFileSync(
      join(dir, '.env'),
      '# a developer\'s settings\nPORT=4000\nLOG_LEVEL="debug"\nCACHE_TTL_S=60\n',
    );
    const env = readEnvironment(dir, { PORT: '5000', HOME: '/root' });
    expect(env).toMatchObject({
      PORT: '5000',
      LOG_LEVEL: 'debug',
      CACHE_TTL_S: '60',
      HOME: '/root',
    });
    expect(parseEnvironment(env)).toMatchObject({
      http: { port: 5000 },
      log: { level: 'debug' },
      cache: { defaultTtlMs: 60_000 },
    });
  });

  it('is the environment alone without a .env file', () => {
    const env = { PORT: '5000' };
    expect(readEnvironment(dir, env)).toBe(env);
  });
});
