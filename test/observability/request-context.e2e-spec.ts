import { randomUUID } from 'node:crypto';
import { request as httpRequest } from 'node:http';
import { setTimeout as delay } from 'node:timers/promises';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { parseEnvironment } from '../../src/config/environment';
import { createHttpApp } from '@app/http';
import { LoggingFixtureModule } from '../fixtures/logging-fixture.module';
import { ApiClient } from '../utils/api-client';
import { accessLineOf, LogLine, waitForLogLines } from '../utils/log-lines';

/**
 * The request context of log lines written while serving a request, on a fixture app built
 * like the real one (`createHttpApp`) whose log goes to an in-memory stream.
 */
describe('log lines written while serving a request (e2e, fixture app)', () => {
  let app: NestFastifyApplication;
  let api: ApiClient;
  let written = '';
  const log = () => written;

  beforeAll(async () => {
    const destination = { write: (line: string) => void (written += line) };
    app = await createHttpApp(
      LoggingFixtureModule.forRoot(destination),
      parseEnvironment(process.env).http,
    );
    await app.listen({ port: 0, host: '127.0.0.1' });
    api = new ApiClient(await app.getUrl());
  });
  afterAll(() => app?.close());

  const handlerLine = (requestId: string, msg: string) => (line: LogLine) =>
    line.requestId === requestId && line.msg === msg;

  /**
   * POSTs `body` with its headers sent first and the body only after `lagMs`, as a slow or
   * distant client does: the body's events then come from the connection, not the request.
   */
  async function postLate(path: string, body: unknown, requestId: string, lagMs: number) {
    const payload = JSON.stringify(body);
    const { port } = new URL(await app.getUrl());
    return new Promise<number>((resolve, reject) => {
      const req = httpRequest(
        {
          host: '127.0.0.1',
          port,
          path,
          method: 'POST',
          headers: {
            'content-type': 'application/json',
            'content-length': Buffer.byteLength(payload),
            'x-request-id': requestId,
          },
        },
        (res) => {
          res.resume();
          res.on('end', () => resolve(res.statusCode!));
        },
      );
      req.on('error', reject);
      req.flushHeaders();
      void delay(lagMs).then(() => req.end(payload));
    });
  }

  it('a POST handler and the service it awaits log with the request id', async () => {
    const requestId = `note-${randomUUID()}`;
    const res = await api.post(
      '/api/fixture/notes',
      { note: 'hello' },
      { headers: { 'x-request-id': requestId } },
    );
    expect(res.status).toBe(201);
    const [received] = await waitForLogLines(log, handlerLine(requestId, 'note received'));
    expect(received).toMatchObject({ level: 'info', context: 'NotesController', note: 'hello' });
    const [recorded] = await waitForLogLines(log, handlerLine(requestId, 'note recorded'));
    expect(recorded).toMatchObject({ level: 'info', context: 'NotesService', note: 'hello' });
  });

  it('keeps the id when the body arrives after the headers', async () => {
    const requestId = `late-${randomUUID()}`;
    expect(await postLate('/api/fixture/notes', { note: 'late' }, requestId, 50)).toBe(201);
    await waitForLogLines(log, handlerLine(requestId, 'note received'));
    await waitForLogLines(log, handlerLine(requestId, 'note recorded'));
  });

  it('concurrent requests each keep their own id', async () => {
    const ids = Array.from({ length: 20 }, (_, i) => `concurrent-${i}-${randomUUID()}`);
    const responses = await Promise.all(
      ids.map((id, i) =>
        api.post('/api/fixture/notes', { note: `n${i}` }, { headers: { 'x-request-id': id } }),
      ),
    );
    expect(responses.map((res) => res.status)).toEqual(ids.map(() => 201));
    for (const [i, id] of ids.entries()) {
      const lines = await waitForLogLines(log, (line) => line.note === `n${i}`, { count: 2 });
      expect(lines.map((line) => line.requestId)).toEqual([id, id]);
    }
  });

  it('a request slower than the threshold is logged at warn, a fast one at info', async () => {
    const slow = await api.get('/api/fixture/slow');
    const fast = await api.post('/api/fixture/notes', { note: 'fast' });
    const [slowLine] = await waitForLogLines(log, accessLineOf(slow.headers.get('x-request-id')!));
    expect(slowLine).toMatchObject({
      level: 'warn',
      msg: 'slow request',
      route: '/api/fixture/slow',
    });
    const [fastLine] = await waitForLogLines(log, accessLineOf(fast.headers.get('x-request-id')!));
    expect(fastLine).toMatchObject({ level: 'info', msg: 'request completed', statusCode: 201 });
  });

  it('a body that fails to parse is logged under its request id and route', async () => {
    const requestId = `broken-${randomUUID()}`;
    const res = await api.request('POST', '/api/fixture/notes', {
      rawBody: '{"note":',
      headers: { 'x-request-id': requestId },
    });
    expect(res.status).toBe(400);
    const [line] = await waitForLogLines(log, accessLineOf(requestId));
    expect(line).toMatchObject({ route: '/api/fixture/notes', statusCode: 400 });
  });
});
