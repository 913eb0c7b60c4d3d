import { randomUUID } from 'node:crypto';
import { createHmac } from 'node:crypto';
import { TestUser } from '../utils/api-client';
import { startTestApp, TestApp } from '../utils/test-app';

describe('auth (e2e)', () => {
  let t: TestApp;

  beforeAll(async () => {
    t = await startTestApp();
  });
  afterAll(() => t.close());

  const email = () => `auth-${randomUUID()}@Example.test`;

  describe('POST /api/auth/register', () => {
    it('creates a user and returns it with its email, never the hash', async () => {
      const address = email();
      const res = await t.api.post('/api/auth/register', {
        email: address,
        password: 'password123',
        name: 'Ann',
      });
      expect(res.status).toBe(201);
      expect(res.body).toEqual({
        id: expect.any(Number),
        email: address.toLowerCase(),
        name: 'Ann',
        bio: '',
        createdAt: expect.any(String),
        updatedAt: expect.any(String),
      });
      expect(res.text).not.toMatch(/hash|scrypt/i);
    });

    it('409 when the email is taken, whatever its case', async () => {
      const address = email();
      await t.api.post('/api/auth/register', {
        email: address,
        password: 'password123',
        name: 'A',
      });
      const res = await t.api.post('/api/auth/register', {
        email: address.toUpperCase(),
        password: 'password123',
        name: 'B',
      });
      expect(res.status).toBe(409);
      expect(res.body).toMatchObject({
        statusCode: 409,
        error: 'Conflict',
        requestId: expect.any(String),
      });
    });

    it.each([
      ['a missing field', { email: 'x@example.test', password: 'password123' }],
      ['an invalid email', { email: 'not-an-email', password: 'password123', name: 'A' }],
      ['a short password', { email: 'x@example.test', password: 'short', name: 'A' }],
      ['an over-long password', { email: 'x@example.test', password: 'p'.repeat(129), name: 'A' }],
      [
        'an over-long name',
        { email: 'x@example.test', password: 'password123', name: 'n'.repeat(101) },
      ],
      [
        'an unknown field',
        { email: 'x@example.test', password: 'password123', name: 'A', admin: true },
      ],
      ['a wrong type', { email: 'x@example.test', password: 12345678, name: 'A' }],
    ])('400 for %s', async (_, body) => {
      const res = await t.api.post('/api/auth/register', body);
      expect(res.status).toBe(400);
      expect(res.body).toMatchObject({
        statusCode: 400,
        error: 'Bad Request',
        message: expect.any(String),
      });
    });

    it('400 for malformed JSON', async () => {
      const res = await t.api.request('POST', '/api/auth/register', { rawBody: '{"email":' });
      expect(res.status).toBe(400);
      expect(res.body.error).toBe('Bad Request');
    });
  });

  describe('POST /api/auth/login', () => {
    it('returns a Bearer token that authenticates', async () => {
      const user = await t.api.createUser();
      const res = await t.api.post('/api/auth/login', {
        email: user.email,
        password: user.password,
      });
      expect(res.status).toBe(200);
      expect(res.body).toEqual({
        accessToken: expect.any(String),
        tokenType: 'Bearer',
        expiresIn: 3600,
      });
      const me = await t.api.get('/api/users/me', { token: res.body.accessToken });
      expect(me.status).toBe(200);
      expect(me.body.id).toBe(user.id);
    });

    it('401 for a wrong password and for an unknown email, alike', async () => {
      const user = await t.api.createUser();
      const wrong = await t.api.post('/api/auth/login', {
        email: user.email,
        password: 'wrong-password',
      });
      const unknown = await t.api.post('/api/auth/login', {
        email: email(),
        password: 'password123',
      });
      expect(wrong.status).toBe(401);
      expect(unknown.status).toBe(401);
      expect(wrong.body.message).toBe(unknown.body.message);
    });
  });

  describe('access tokens', () => {
    const sign = (header: object, payload: object, secret: string, hash = 'sha256') => {
      const encode = (part: object) => Buffer.from(JSON.stringify(part)).toString('base64url');
      const unsigned = `${encode(header)}.${encode(payload)}`;
      return `${unsigned}.${createHmac(hash, secret).update(unsigned).digest('base64url')}`;
    };
    const HS256 = { alg: 'HS256', typ: 'JWT' };
    let user: TestUser;
    /** Claims of a token this app would sign for `user`, with `changes` over them. */
    const claims = (changes: Record<string, unknown> = {}) => {
      const now = Math.floor(Date.now() / 1000);
      return {
        sub: String(user.id),
        iat: now,
        exp: now + 60,
        iss: t.config.auth.jwtIssuer,
        aud: t.config.auth.jwtAudience,
        ...changes,
      };
    };
    const me = (token: string | undefined) => t.api.get('/api/users/me', { token });

    beforeAll(async () => {
      user = await t.api.createUser();
    });

    it('a login token carries iss, aud, iat and exp, and authenticates', async () => {
      const [, payload] = user.token.split('.');
      const decoded = JSON.parse(Buffer.from(payload, 'base64url').toString()) as Record<
        string,
        unknown
      >;
      expect(decoded).toEqual({
        sub: String(user.id),
        iss: 'loadstar',
        aud: 'loadstar-api',
        iat: expect.any(Number),
        exp: (decoded.iat as number) + 3600,
      });
      expect((await me(user.token)).status).toBe(200);
      // the control for the refusals below: a token made like the app's own is accepted
      expect((await me(sign(HS256, claims(), t.config.auth.jwtSecret))).status).toBe(200);
    });

    it.each([
      ['no token', () => undefined],
      ['garbage', () => 'not.a.token'],
      [
        'alg none',
        () =>
          `${Buffer.from('{"alg":"none","typ":"JWT"}').toString('base64url')}.${Buffer.from(JSON.stringify(claims())).toString('base64url')}.`,
      ],
      [
        'alg HS512 with the right secret',
        () => sign({ alg: 'HS512', typ: 'JWT' }, claims(), t.config.auth.jwtSecret, 'sha512'),
      ],
      [
        'alg HS384 with the right secret',
        () => sign({ alg: 'HS384', typ: 'JWT' }, claims(), t.config.auth.jwtSecret, 'sha384'),
      ],
      [
        'alg RS256 (the secret taken for a public key)',
        () => sign({ alg: 'RS256', typ: 'JWT' }, claims(), t.config.auth.jwtSecret),
      ],
      ['a foreign secret', () => sign(HS256, claims(), 'x'.repeat(40))],
      ['no exp', () => sign(HS256, claims({ exp: undefined }), t.config.auth.jwtSecret)],
      ['a string exp', () => sign(HS256, claims({ exp: 'never' }), t.config.auth.jwtSecret)],
      ['no iat', () => sign(HS256, claims({ iat: undefined }), t.config.auth.jwtSecret)],
      ['no iss', () => sign(HS256, claims({ iss: undefined }), t.config.auth.jwtSecret)],
      ['another iss', () => sign(HS256, claims({ iss: 'elsewhere' }), t.config.auth.jwtSecret)],
      ['no aud', () => sign(HS256, claims({ aud: undefined }), t.config.auth.jwtSecret)],
      ['another aud', () => sign(HS256, claims({ aud: 'other-api' }), t.config.auth.jwtSecret)],
      [
        'an exp past the 5 s clock tolerance',
        () => sign(HS256, claims({ exp: claims().iat - 10 }), t.config.auth.jwtSecret),
      ],
      [
        'an iat older than the token lifetime, whatever its exp',
        () =>
          sign(
            HS256,
            claims({ iat: claims().iat - 3_700, exp: claims().iat + 86_400 }),
            t.config.auth.jwtSecret,
          ),
      ],
      [
        'an nbf in the future past the tolerance',
        () => sign(HS256, claims({ nbf: claims().iat + 30 }), t.config.auth.jwtSecret),
      ],
    ])('401 with %s', async (_, token) => {
      const res = await me(token());
      expect(res.status).toBe(401);
      expect(res.body).toMatchObject({ statusCode: 401, error: 'Unauthorized' });
    });

    it('accepts an exp just passed, within the 5 s clock tolerance', async () => {
      const token = sign(HS256, claims({ exp: claims().iat - 2 }), t.config.auth.jwtSecret);
      expect((await me(token)).status).toBe(200);
    });

    it('401 with a tampered token', async () => {
      const [header, , signature] = user.token.split('.');
      const forged = `${header}.${Buffer.from(JSON.stringify(claims({ sub: '1' }))).toString('base64url')}.${signature}`;
      expect((await me(forged)).status).toBe(401);
    });
  });
});
