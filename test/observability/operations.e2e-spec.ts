import { randomBytes } from 'node:crypto';
import { errorBody } from '../utils/api-client';
import { freePort, sleep } from '../utils/net';
import { PrivatePostgres } from '../utils/private-postgres';
import { startTestApp, TestApp } from '../utils/test-app';

const OPERATIONS_ROUTES = ['/health/live', '/health/ready', '/metrics', '/docs', '/docs-json'];

/** What an operator sets so that the operations routes stay off the public listener. */
describe('operations routes off the public listener (e2e)', () => {
  describe('OPS_PORT', () => {
    let t: TestApp;
    beforeAll(async () => {
      t = await startTestApp({ OPS_PORT: '0' });
    });
    afterAll(() => t.close());

    it.each(OPERATIONS_ROUTES)(
      'the public listener answers %s as an unknown route',
      async (path) => {
        const res = await t.api.get(path);
        expect(res.status).toBe(404);
        expect(res.body).toEqual(errorBody(404, `Cannot GET ${path}`));
      },
    );

    it('serves health, metrics and OpenAPI on the operations listener', async () => {
      const ops = t.ops!;
      for (const path of OPERATIONS_ROUTES)
        expect([path, (await ops.get(path)).status]).toEqual([path, 200]);
      expect((await ops.get('/docs-json')).body.paths['/api/config']).toBeDefined();
    });

    it('the operations listener serves nothing else; the public one serves the API', async () => {
      const fromOps = await t.ops!.get('/api/config');
      expect(fromOps.status).toBe(404);
      expect(fromOps.body).toEqual(errorBody(404, 'Cannot GET /api/config'));
      expect((await t.api.get('/api/config')).status).toBe(200);
    });

    it("a scrape on the operations listener counts the public listener's requests", async () => {
      for (let i = 0; i < 3; i++) await t.api.get('/api/config');
      const metrics = await t.ops!.get('/metrics');
      expect(metrics.text).toMatch(
        /^http_request_duration_seconds_count\{[^}]*route="\/api\/config"[^}]*status_code="200"\} [3-9]\d*$/m,
      );
    });
  });

  it('OPS_PORT equal to PORT is refused at start', async () => {
    const port = String(await freePort());
    await expect(startTestApp({ PORT: port, OPS_PORT: port })).rejects.toThrow(
      /OPS_PORT must differ from PORT/,
    );
  });

  describe('METRICS_TOKEN', () => {
    const token = randomBytes(24).toString('base64url');
    let t: TestApp;
    beforeAll(async () => {
      t = await startTestApp({ METRICS_TOKEN: token });
    });
    afterAll(() => t.close());

    it.each([
      ['no Authorization header', {}],
      ['a wrong token', { authorization: `Bearer ${token.slice(1)}x` }],
      ['the token with another scheme', { authorization: `Basic ${token}` }],
    ])('answers 401 to a scrape with %s', async (_, headers: Record<string, string>) => {
      const res = await t.api.get('/metrics', { headers });
      expect(res.status).toBe(401);
      expect(res.body).toEqual(errorBody(401, 'a valid bearer token is required for /metrics'));
      expect(res.headers.get('www-authenticate')).toBe('Bearer realm="metrics"');
      expect(res.text).not.toContain('http_request_duration_seconds');
    });

    it('serves the metrics with the token; health needs none', async () => {
      const res = await t.api.get('/metrics', { headers: { authorization: `Bearer ${token}` } });
      expect(res.status).toBe(200);
      expect(res.text).toContain('http_request_duration_seconds');
      expect((await t.api.get('/health/ready')).status).toBe(200);
    });
  });

  describe('DOCS_ENABLED=false', () => {
    let t: TestApp;
    beforeAll(async () => {
      t = await startTestApp({ DOCS_ENABLED: 'false' });
    });
    afterAll(() => t.close());

    it('serves no OpenAPI UI or document', async () => {
      for (const path of ['/docs', '/docs/', '/docs-json', '/docs-yaml']) {
        const res = await t.api.get(path);
        expect([path, res.status]).toEqual([path, 404]);
      }
      expect((await t.api.get('/api/config')).status).toBe(200);
    });
  });

  describe('readiness in production names no host, address, user or password', () => {
    const redisPassword = randomBytes(12).toString('hex');
    let pg: PrivatePostgres;
    let t: TestApp;
    let redisPort: number;

    beforeAll(async () => {
      pg = await PrivatePostgres.create();
      redisPort = await freePort();
      t = await startTestApp({
        NODE_ENV: 'production',
        DATABASE_URL: pg.url,
        DB_CONNECT_TIMEOUT_MS: '1000',
        JWT_SECRET: randomBytes(32).toString('base64url'),
        // production refuses the tests' fast password hashing
        PASSWORD_SCRYPT_COST_LOG2: undefined,
        // nothing listens there: Redis is down from the start
        REDIS_URL: `redis://:${redisPassword}@127.0.0.1:${redisPort}`,
        DOCS_ENABLED: undefined,
      });
    }, 60_000);
    afterAll(async () => {
      await t?.close();
      await pg?.destroy();
    });

    /** Everything a caller could learn about where the dependencies are. */
    function expectNothingRevealed(text: string) {
      const dbUrl = new URL(pg.url);
      for (const secret of [
        redisPassword,
        String(redisPort),
        dbUrl.port,
        '127.0.0.1',
        dbUrl.username,
      ]) {
        expect(text).not.toContain(secret);
      }
    }

    it('Redis down: 200, degraded, with a cause and no address', async () => {
      const res = await t.api.get('/health/ready');
      expect(res.status).toBe(200);
      expect(res.body).toMatchObject({
        degraded: ['redis'],
        details: { redis: { status: 'down', message: 'connection refused' } },
      });
      expectNothingRevealed(res.text);
    });

    it('database down: 503 with a cause and no address', async () => {
      await pg.stop('fast');
      try {
        let res = await t.api.get('/health/ready');
        for (let i = 0; res.status !== 503 && i < 50; i++) {
          await sleep(200);
          res = await t.api.get('/health/ready');
        }
        expect(res.status).toBe(503);
        // the health connection first sees the server go, then refused reconnections
        expect(res.body.message).toMatch(
          /^unhealthy: database \((connection refused|unavailable)\), redis \(connection refused\)$/,
        );
        expectNothingRevealed(res.text);
      } finally {
        await pg.start();
      }
    });

    it('production serves no OpenAPI by default', async () => {
      expect((await t.api.get('/docs-json')).status).toBe(404);
    });
  });
});
