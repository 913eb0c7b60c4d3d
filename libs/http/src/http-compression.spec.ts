import { brotliDecompressSync, gunzipSync } from 'node:zlib';
import Fastify, { FastifyInstance } from 'fastify';
import { EncodedForms, installSmallBodyCompression, reuseEncodedForms } from './http-compression';

const JSON_TYPES = /json/;
const small = { text: 'x'.repeat(100) };
const medium = { text: 'loadstar '.repeat(300) };
const large = { text: 'loadstar '.repeat(4_000) };

describe(installSmallBodyCompression.name, () => {
  let app: FastifyInstance;
  const kept: EncodedForms = { body: JSON.stringify({ kept: 'cached '.repeat(300) }) };

  beforeAll(async () => {
    app = Fastify();
    installSmallBodyCompression(app, { thresholdBytes: 1_025, compressibleTypes: JSON_TYPES });
    app.get('/small', () => small);
    app.get('/medium', () => medium);
    app.get('/large', () => large);
    app.get('/text', (_request, reply) => reply.type('image/svg').send('x'.repeat(2_000)));
    app.get('/kept', (_request, reply) => {
      reuseEncodedForms(reply, kept);
      return reply.type('application/json').send(kept.body);
    });
    app.get('/kept-other-body', (_request, reply) => {
      reuseEncodedForms(reply, kept);
      return reply.type('application/json').send(JSON.stringify(medium));
    });
    app.get('/encoded', (_request, reply) =>
      reply.header('content-encoding', 'identity').send(medium),
    );
    await app.ready();
  });
  afterAll(() => app.close());

  const get = (url: string, headers: Record<string, string> = {}) =>
    app.inject({ method: 'GET', url, headers });

  it('compresses a body over the threshold with brotli when accepted first', async () => {
    const res = await get('/medium', { 'accept-encoding': 'gzip, br' });
    expect(res.headers['content-encoding']).toBe('br');
    expect(res.headers['vary']).toBe('accept-encoding');
    expect(res.headers['content-length']).not.toBe(String(JSON.stringify(medium).length));
    expect(JSON.parse(brotliDecompressSync(res.rawPayload).toString())).toEqual(medium);
  });

  it('compresses a body with kept forms once per encoding, then sends the kept form', async () => {
    const first = await get('/kept', { 'accept-encoding': 'br' });
    const brotli = kept.br;
    expect(brotli).toBeInstanceOf(Buffer);
    expect(kept.gzip).toBeUndefined();
    const again = await get('/kept', { 'accept-encoding': 'br' });
    expect(kept.br).toBe(brotli);
    expect(again.rawPayload).toEqual(first.rawPayload);
    expect(again.headers['content-encoding']).toBe('br');
    expect(brotliDecompressSync(again.rawPayload).toString()).toBe(kept.body);
    const gzipped = await get('/kept', { 'accept-encoding': 'gzip' });
    expect(gunzipSync(gzipped.rawPayload).toString()).toBe(kept.body);
    expect(kept.gzip).toBeInstanceOf(Buffer);
  });

  it("compresses another body than the kept forms' own as usual, leaving the forms", async () => {
    const res = await get('/kept-other-body', { 'accept-encoding': 'br' });
    expect(JSON.parse(brotliDecompressSync(res.rawPayload).toString())).toEqual(medium);
    expect(brotliDecompressSync(kept.br!).toString()).toBe(kept.body);
  });

  it('falls back to gzip, and reads x-gzip as gzip', async () => {
    for (const accepted of ['gzip', 'x-gzip', 'br;q=0, gzip']) {
      const res = await get('/medium', { 'accept-encoding': accepted });
      expect(res.headers['content-encoding']).toBe('gzip');
      expect(JSON.parse(gunzipSync(res.rawPayload).toString())).toEqual(medium);
    }
  });

  it.each([
    ['a body under the threshold', '/small', { 'accept-encoding': 'br' }],
    ['a client that accepts no encoding', '/medium', {}],
    ['identity only', '/medium', { 'accept-encoding': 'identity' }],
    ['x-no-compression', '/medium', { 'accept-encoding': 'br', 'x-no-compression': '1' }],
    ['a type not worth compressing', '/text', { 'accept-encoding': 'br' }],
    ['a body already encoded', '/encoded', { 'accept-encoding': 'br' }],
    [
      'a body too large for one call (left to @fastify/compress)',
      '/large',
      { 'accept-encoding': 'br' },
    ],
  ])('leaves %s as it is', async (_case, url, headers) => {
    const res = await get(url, headers);
    expect([undefined, 'identity']).toContain(res.headers['content-encoding']);
    expect(res.headers['vary']).toBeUndefined();
  });
});
