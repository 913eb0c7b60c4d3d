import { randomUUID } from 'node:crypto';
import { connect } from 'node:net';
import { AppProcess, startAppProcess } from '../utils/app-process';
import { accessLineOf, LogLine, parseLogLines, waitForLogLines } from '../utils/log-lines';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/**
 * Sends `GET path` with an `x-request-id` of raw bytes (fetch refuses control characters) and
 * returns the status and the `x-request-id` answered.
 */
function rawGet(port: number, path: string, requestId: Buffer) {
  return new Promise<{ status: number; requestId: string | undefined }>((resolve, reject) => {
    // written, not ended: a half-closed connection is closed before the response is sent
    const socket = connect(port, '127.0.0.1', () => {
      socket.write(
        Buffer.concat([
          Buffer.from(`GET ${path} HTTP/1.1\r\nhost: loadstar\r\nconnection: close\r\n`),
          Buffer.from('x-request-id: '),
          requestId,
          Buffer.from('\r\n\r\n'),
        ]),
      );
    });
    let response = '';
    socket.on('data', (chunk: Buffer) => (response += chunk.toString('latin1')));
    socket.on('error', reject);
    socket.on('close', () =>
      resolve({
        status: Number(/^HTTP\/1\.1 (\d{3})/.exec(response)?.[1]),
        requestId: /\r\nx-request-id: ([^\r]*)\r\n/i.exec(response)?.[1],
      }),
    );
  });
}

/**
 * The real app in its own process at the most verbose level, its stdout read as the log: what
 * an operator's collector would get.
 */
describe('request logging (e2e, app process)', () => {
  let app: AppProcess;
  const log = () => app.output();

  beforeAll(async () => {
    app = await startAppProcess({ LOG_LEVEL: 'trace' }, { timeoutMs: 60_000 });
  }, 90_000);
  afterAll(() => app?.stop());

  it.each([
    ['GET', '/api/config', 200],
    ['GET', '/api/users/abc', 400],
    ['GET', '/api/users/me', 401],
    ['GET', '/api/nope/123', 404],
    ['POST', '/api/auth/login', 400],
    ['GET', '/health/live', 200],
    ['GET', '/metrics', 200],
  ])(
    '%s %s (%d) has an x-request-id and exactly one access-log line',
    async (method, path, status) => {
      const res = await app.api.request(method, path);
      expect(res.status).toBe(status);
      const requestId = res.headers.get('x-request-id');
      expect(requestId).toMatch(UUID);
      const [line] = await waitForLogLines(log, accessLineOf(requestId!));
      expect(line).toMatchObject({ method, statusCode: status, durationMs: expect.any(Number) });
      // nestjs-pino and Fastify each logging the request would make two
      expect(parseLogLines(log()).filter(accessLineOf(requestId!))).toHaveLength(1);
    },
  );

  it('echoes a sane incoming id and logs the request under it, with the route template', async () => {
    const requestId = `trace-${randomUUID()}`;
    const res = await app.api.get('/api/users/2147483647', {
      headers: { 'x-request-id': requestId },
    });
    expect(res.headers.get('x-request-id')).toBe(requestId);
    const [line] = await waitForLogLines(log, accessLineOf(requestId));
    expect(line).toMatchObject({
      level: 'info',
      msg: 'request completed',
      requestId,
      method: 'GET',
      route: '/api/users/:id',
      path: '/api/users/2147483647',
      statusCode: 404,
      durationMs: expect.any(Number),
    });
  });

  it('logs health and metrics requests at debug, not info', async () => {
    for (const path of ['/health/ready', '/metrics']) {
      const res = await app.api.get(path);
      const [line] = await waitForLogLines(log, accessLineOf(res.headers.get('x-request-id')!));
      expect(line.level).toBe('debug');
    }
  });

  describe('a hostile x-request-id is replaced by a new one', () => {
    it.each([
      ['too long', 'a'.repeat(129)],
      ['with a tab', 'id\twith-tab'],
      ['with a non-ASCII byte', 'id\u00e9'],
      ['with a control character', 'id\u0001x'],
      ['with DEL', 'id\u007fx'],
    ])('%s', async (_, hostile) => {
      const res = await rawGet(app.port, '/api/config', Buffer.from(hostile, 'latin1'));
      // control characters are refused by the HTTP parser (400), the rest reach the app (200)
      expect([200, 400]).toContain(res.status);
      expect(res.requestId).toMatch(UUID);
      if (res.status === 200) {
        const [line] = await waitForLogLines(log, accessLineOf(res.requestId!));
        expect(line.requestId).toBe(res.requestId);
      }
      expect(log()).not.toContain(hostile);
    });
  });

  it('never writes a password or token that a client sent', async () => {
    const secrets = {
      password: `pw-${randomUUID()}`,
      wrongPassword: `wrong-${randomUUID()}`,
      inQuery: `query-${randomUUID()}`,
      inBrokenJson: `broken-${randomUUID()}`,
      bearer: `bearer-${randomUUID()}`,
    };
    const email = `logs-${randomUUID()}@example.test`;
    const requests = [
      () => app.api.post('/api/auth/register', { email, password: secrets.password, name: 'Log' }),
      // the duplicate email fails in the database, which is logged with the query's parameters
      () => app.api.post('/api/auth/register', { email, password: secrets.password, name: 'Log' }),
      () => app.api.post('/api/auth/login', { email, password: secrets.password }),
      () => app.api.post('/api/auth/login', { email, password: secrets.wrongPassword }),
      () => app.api.post('/api/auth/login', { email, password: secrets.password, extra: 1 }),
      () =>
        app.api.post(`/api/auth/login?password=${secrets.inQuery}`, {
          email,
          password: secrets.password,
        }),
      () =>
        app.api.request('POST', '/api/auth/login', {
          rawBody: `{"email":"${email}","password":"${secrets.inBrokenJson}"`,
        }),
      () => app.api.get('/api/users/me', { token: secrets.bearer }),
    ];
    const statuses: number[] = [];
    const requestIds: string[] = [];
    for (const send of requests) {
      const res = await send();
      statuses.push(res.status);
      requestIds.push(res.headers.get('x-request-id')!);
    }
    expect(statuses).toEqual([201, 409, 200, 401, 400, 200, 400, 401]);
    // every request has been logged, so the log read below is complete for them
    await waitForLogLines(log, (line) => requestIds.some((id) => accessLineOf(id)(line)), {
      count: requestIds.length,
    });
    const lines: LogLine[] = parseLogLines(log());
    expect(lines.some((line) => line.level === 'debug' && line.msg === 'query failed')).toBe(true);
    for (const secret of Object.values(secrets)) expect(log()).not.toContain(secret);
  });
});
