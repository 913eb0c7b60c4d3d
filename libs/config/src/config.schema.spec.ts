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
        failOpen: true,
        tiers: {
          default: { limit: 600, ttlMs: 60_000 },
          auth: { limit: 10, ttlMs: 900_000 },
          expensive: { limit: 30, ttlMs: 60_000 },
        },
      });
      expect(config.cache.defaultTtlS).toBe(300);
      expect(config.cluster.workers).toBe(0);
      expect(config.auth.jwtSecretGenerated).toBe(true);
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
      ['true', true],
      ['2', 2],
      ['10.0.0.0/8, 127.0.0.1', ['10.0.0.0/8', '127.0.0.1']],
    ])('parses TRUST_PROXY=%s', (value, expected) => {
      expect(parseEnvironment({ TRUST_PROXY: value }).http.trustProxy).toEqual(expected);
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
});
