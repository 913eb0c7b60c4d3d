import { ConfigValidationError } from './config.errors';
import { parseEnvironment } from './config.schema';

describe('parseEnvironment', () => {
  describe('#defaults', () => {
    it('gives the contract defaults for an empty environment', () => {
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
        embeddedDataDir: '/srv/app/.data/postgres',
        migrationsRun: true,
      });
      expect(config.rateLimit).toEqual({
        enabled: true,
        failOpen: true,
        keyPrefix: 'loadstar:rate-limit:',
        slowdownMaxDelayMs: 60_000,
        tiers: {
          default: { limit: 600, ttlMs: 60_000 },
          auth: { limit: 10, ttlMs: 900_000 },
          authAccountAddress: { limit: 5, ttlMs: 900_000 },
          authAccount: { limit: 20, ttlMs: 3_600_000 },
          register: { limit: 10, ttlMs: 3_600_000 },
          expensive: { limit: 30, ttlMs: 60_000 },
        },
      });
      expect(config.cache).toEqual({
        enabled: true,
        defaultTtlS: 300,
        l1MaxEntries: 10_000,
        l1MaxBytes: 64 * 1_048_576,
        l1TtlMs: 5_000,
        redisTimeoutMs: 100,
      });
      expect(config.cluster.workers).toBe(0);
      expect(config.workerPool).toMatchObject({ taskTimeoutMs: 30_000, offload: true });
      expect(config.workerPool.maxQueue).toBe(64 * config.workerPool.size);
      expect(config.auth.jwtSecretGenerated).toBe(true);
      expect(config.posts).toEqual({
        export: { maxConcurrent: 1, stallTimeoutMs: 30_000, timeoutMs: 3_600_000 },
        import: { maxRows: 200_000, rowQuota: { rows: 1_000_000, windowMs: 3_600_000 } },
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
      }).cache;
      expect(cache).toMatchObject({
        l1MaxEntries: 500,
        l1MaxBytes: 2 * 1_048_576,
        l1TtlMs: 250,
        redisTimeoutMs: 20,
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
      expect(parseEnvironment({ RATE_LIMIT_EXPENSIVE: value }).rateLimit.tiers.expensive).toEqual(
        tier,
      );
    });

    it.each([
      [{}, false],
      [{ RATE_LIMIT_FAIL_OPEN: 'false' }, true],
      [{ RATE_LIMIT_FAIL_OPEN: 'false', RATE_LIMIT_ENABLED: 'false' }, false],
      [{ RATE_LIMIT_FAIL_OPEN: 'false', REDIS_REQUIRED: 'false' }, false],
      [{ REDIS_REQUIRED: 'true' }, true],
    ])('REDIS_REQUIRED for %j is %s', (env, required) => {
      expect(parseEnvironment(env).redis.required).toBe(required);
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
      });
      expect(posts).toEqual({
        export: { maxConcurrent: 3, stallTimeoutMs: 5_000, timeoutMs: 600_000 },
        import: { maxRows: 1_000, rowQuota: { rows: 20_000, windowMs: 900_000 } },
      });
      const attempt = () =>
        parseEnvironment({
          EXPORT_MAX_CONCURRENT: '0',
          EXPORT_STALL_TIMEOUT_MS: '30s',
          EXPORT_TIMEOUT_MS: '10',
          IMPORT_MAX_ROWS: '-1',
          IMPORT_ROW_QUOTA: '1000 per hour',
        });
      expect(attempt).toThrow(
        /EXPORT_MAX_CONCURRENT.*EXPORT_STALL_TIMEOUT_MS.*EXPORT_TIMEOUT_MS.*IMPORT_MAX_ROWS.*IMPORT_ROW_QUOTA/,
      );
    });

    it('splits replica URLs and takes CLUSTER_WORKERS=max as the core count', () => {
      const config = parseEnvironment({
        DATABASE_REPLICA_URLS: 'postgres://a/db, postgres://b/db',
        CLUSTER_WORKERS: 'max',
      });
      expect(config.database.replicaUrls).toEqual(['postgres://a/db', 'postgres://b/db']);
      expect(config.cluster.workers).toBeGreaterThan(0);
    });
  });

  describe('#resources', () => {
    /** Pool sizes for an empty environment with these CPUs and MiB. */
    const sized = (cpus: number, memoryMb: number, env: Record<string, string> = {}) => {
      const { database, workerPool, cluster } = parseEnvironment(env, '/srv/app', {
        cpus,
        memoryMb,
      });
      return {
        poolMax: database.poolMax,
        threads: workerPool.size,
        heapMb: workerPool.resourceLimits.maxOldGenerationSizeMb,
        workers: cluster.workers,
      };
    };

    it("sizes the pools from the container's limits, not the node's cores", () => {
      // the pod of deploy/k8s: 2 CPUs and 512 MiB, whatever the node has
      expect(sized(2, 512)).toMatchObject({ poolMax: 5, threads: 1, heapMb: 128 });
      expect(sized(4, 512)).toMatchObject({ poolMax: 9, threads: 2, heapMb: 64 });
    });

    it('gives the worker threads a quarter of the memory, so memory bounds their count', () => {
      // 16 CPUs but 512 MiB: 2 threads of 64 MB, not 15 threads of 256 MB
      expect(sized(16, 512)).toMatchObject({ poolMax: 33, threads: 2, heapMb: 64 });
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
        heapMb: 204,
      });
      expect(sized(8, 8192, { CLUSTER_WORKERS: '3' })).toMatchObject({ workers: 3, poolMax: 5 });
    });

    it('lets the variables win and sizes the heaps for the threads asked for', () => {
      expect(sized(2, 2048, { DB_POOL_MAX: '7', WORKER_POOL_SIZE: '4' })).toMatchObject({
        poolMax: 7,
        threads: 4,
        heapMb: 128,
      });
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
