import { Readable } from 'node:stream';
import Fastify, { FastifyInstance } from 'fastify';
import { installWriteCoalescing } from './http-write-coalescing';

describe(installWriteCoalescing.name, () => {
  let app: FastifyInstance;
  const events: string[] = [];

  beforeAll(async () => {
    app = Fastify();
    installWriteCoalescing(app);
    // registered after it: runs once a held response is let go
    app.addHook('onSend', (request, _reply, payload, done) => {
      events.push(`sent ${request.url}`);
      done(null, payload);
    });
    app.get('/text/:n', (request) => {
      events.push(`served ${request.url}`);
      return { n: (request.params as { n: string }).n };
    });
    app.get('/stream', (_request, reply) => {
      events.push('served /stream');
      return reply.type('text/plain').send(Readable.from(['a', 'b']));
    });
    await app.ready();
  });
  afterAll(() => app.close());
  beforeEach(() => (events.length = 0));

  it('writes the responses of one turn after every request of it was served', async () => {
    const responses = await Promise.all(
      ['/text/1', '/text/2', '/text/3'].map((url) => app.inject({ method: 'GET', url })),
    );
    expect(events).toEqual([
      'served /text/1',
      'served /text/2',
      'served /text/3',
      'sent /text/1',
      'sent /text/2',
      'sent /text/3',
    ]);
    expect(responses.map((response) => response.json<{ n: string }>().n)).toEqual(['1', '2', '3']);
    expect(responses.every((response) => response.statusCode === 200)).toBe(true);
  });

  it('does not hold a stream', async () => {
    const [streamed] = await Promise.all([
      app.inject({ method: 'GET', url: '/stream' }),
      app.inject({ method: 'GET', url: '/text/4' }),
    ]);
    expect(events).toEqual(['served /stream', 'sent /stream', 'served /text/4', 'sent /text/4']);
    expect(streamed.body).toBe('ab');
  });
});
