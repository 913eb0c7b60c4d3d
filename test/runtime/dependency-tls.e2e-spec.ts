import { AppProcess, startAppProcess } from '../utils/app-process';
import { PrivatePostgres } from '../utils/private-postgres';
import { PrivateRedis } from '../utils/private-redis';
import { startTestApp, TestApp } from '../utils/test-app';
import { createTestCertificates, TestCertificates } from '../utils/tls-certificates';
import { readinessUntil } from '../utils/readiness';

/**
 * What a managed PostgreSQL or Redis asks for: TLS, verified (`sslmode=verify-full` with
 * `sslrootcert`, `rediss://`). The servers are the suite's own, with a certificate from a CA
 * made for the run.
 */
describe('TLS to PostgreSQL and Redis (e2e, private servers)', () => {
  const password = 'tls-test-password-0123456789';
  let certs: TestCertificates;
  let pg: PrivatePostgres;
  let redis: PrivateRedis;

  beforeAll(async () => {
    certs = await createTestCertificates();
    pg = await PrivatePostgres.create({ tls: certs });
    redis = await PrivateRedis.start({ password, tls: certs });
  }, 60_000);
  afterAll(async () => {
    await redis?.kill();
    await pg?.destroy();
    await certs?.remove();
  });

  describe('the CA trusted (sslrootcert in DATABASE_URL, NODE_EXTRA_CA_CERTS for Redis)', () => {
    let app: AppProcess;
    beforeAll(async () => {
      app = await startAppProcess(
        {
          DATABASE_URL: `${pg.url}?sslmode=verify-full&sslrootcert=${certs.caFile}`,
          REDIS_URL: redis.tlsUrl,
          NODE_EXTRA_CA_CERTS: certs.caFile,
        },
        { timeoutMs: 90_000 },
      );
    }, 120_000);
    afterAll(() => app?.stop());

    it('talks to PostgreSQL over TLS only', async () => {
      expect((await app.api.get('/health/ready')).status).toBe(200);
      const { rows } = await pg.query((client) =>
        client.query<{ tls: number; total: number }>(
          `SELECT count(*) FILTER (WHERE s.ssl)::int AS tls, count(*)::int AS total
             FROM pg_stat_activity a JOIN pg_stat_ssl s USING (pid)
            WHERE a.application_name LIKE 'loadstar%'`,
        ),
      );
      expect(rows[0].total).toBeGreaterThan(0);
      expect(rows[0].tls).toBe(rows[0].total);
    });

    it('talks to Redis over TLS only, and caches there', async () => {
      const ready = await readinessUntil(app.api);
      expect([ready.status, ready.body.degraded]).toEqual([200, []]);
      const user = await app.api.createUser('Over TLS');
      await app.api.get(`/api/users/${user.id}`);
      expect(await redis.command((client) => client.exists(`loadstar:v2:{user:${user.id}}`))).toBe(
        1,
      );
      // every connection but the test's own arrived on the TLS port
      const clients = await redis.command((client) => client.clientList());
      const ports = clients.map((client) => Number(client.laddr?.split(':').pop()));
      expect(ports.filter((port) => port === redis.tlsPort).length).toBeGreaterThanOrEqual(3);
      expect(ports.filter((port) => port !== redis.tlsPort)).toHaveLength(1);
    });
  });

  describe('the CA not trusted', () => {
    let t: TestApp;
    beforeAll(async () => {
      t = await startTestApp({ REDIS_URL: redis.tlsUrl });
    });
    afterAll(() => t?.close());

    it('refuses the Redis it cannot verify: degraded, saying why', async () => {
      // the first connection attempt runs in the background; until it fails, Redis is "not connected yet"
      const ready = await readinessUntil(t.api, (res) =>
        /certificate/.test(String(res.body?.details?.redis?.message)),
      );
      expect(ready.status).toBe(200);
      expect(ready.body).toMatchObject({
        degraded: ['redis'],
        details: { redis: { status: 'down', message: expect.stringMatching(/certificate/) } },
      });
    });
  });
});
