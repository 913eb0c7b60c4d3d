import { randomUUID } from 'node:crypto';
import { createHmac } from 'node:crypto';
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
    const sign = (header: object, payload: object, secret: string) => {
      const encode = (part: object) => Buffer.from(JSON.stringify(part)).toString('base64url');
      const unsigned = `${encode(header)}.${encode(payload)}`;
      return `${unsigned}.${createHmac('sha256', secret).update(unsigned).digest('base64url')}`;
    };

    it.each([
      ['no token', undefined],
      ['garbage', 'not.a.token'],
      [
        'alg none',
        `${Buffer.from('{"alg":"none","typ":"JWT"}').toString('base64url')}.${Buffer.from('{"sub":"1"}').toString('base64url')}.`,
      ],
      ['a foreign secret', sign({ alg: 'HS256', typ: 'JWT' }, { sub: '1' }, 'x'.repeat(40))],
    ])('401 with %s', async (_, token) => {
      const res = await t.api.get('/api/users/me', { token });
      expect(res.status).toBe(401);
      expect(res.body).toMatchObject({ statusCode: 401, error: 'Unauthorized' });
    });

    it('401 with an expired token', async () => {
      const now = Math.floor(Date.now() / 1000);
      const token = sign(
        { alg: 'HS256', typ: 'JWT' },
        { sub: '1', iat: now - 100, exp: now - 10 },
        t.config.auth.jwtSecret,
      );
      expect((await t.api.get('/api/users/me', { token })).status).toBe(401);
    });

    it('401 with a tampered token', async () => {
      const user = await t.api.createUser();
      const [header, , signature] = user.token.split('.');
      const forged = `${header}.${Buffer.from(JSON.stringify({ sub: '1' })).toString('base64url')}.${signature}`;
      expect((await t.api.get('/api/users/me', { token: forged })).status).toBe(401);
    });
  });
});
