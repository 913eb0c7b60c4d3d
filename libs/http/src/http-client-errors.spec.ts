import type { Duplex } from 'node:stream';
import fastify from 'fastify';
import { replyToClientError, replyToFrameworkError } from './http-client-errors';

const CONTRACT_BODY = {
  statusCode: expect.any(Number),
  error: expect.any(String),
  message: expect.any(String),
  requestId: expect.stringMatching(/^[0-9a-f-]{36}$/),
};

describe('replyToFrameworkError', () => {
  const app = fastify({ frameworkErrors: replyToFrameworkError, genReqId: () => 'req-1' });
  app.get('/users/:id', () => 'never');

  afterAll(() => app.close());

  it.each([
    ['a parameter over maxParamLength', `/users/${'9'.repeat(10_240)}`, 414],
    ['a path that is not valid percent-encoding', '/users/%c3%28', 400],
  ])('answers %s in the contract shape', async (_, url, status) => {
    const res = await app.inject({ method: 'GET', url });
    expect(res.statusCode).toBe(status);
    expect(res.json()).toEqual({ ...CONTRACT_BODY, statusCode: status, requestId: 'req-1' });
    expect(res.headers['x-request-id']).toBe(res.json().requestId);
  });
});

describe('replyToClientError', () => {
  /** The parts of a socket the handler uses, recording what it does. */
  function fakeSocket() {
    return { destroyed: false, writable: true, write: jest.fn(), destroy: jest.fn() };
  }

  it.each([
    ['HPE_HEADER_OVERFLOW', 431],
    ['ERR_HTTP_REQUEST_TIMEOUT', 408],
    ['HPE_INVALID_METHOD', 400],
  ])('answers %s with %i in the contract shape, then closes', (code, status) => {
    const socket = fakeSocket();
    const error = Object.assign(new Error(code), { code });
    replyToClientError(error, socket as unknown as Duplex);
    const [head, text] = (socket.write.mock.calls[0][0] as string).split('\r\n\r\n');
    const body = JSON.parse(text);
    expect(head).toMatch(new RegExp(`^HTTP/1.1 ${status} `));
    expect(body).toEqual({ ...CONTRACT_BODY, statusCode: status });
    expect(head).toContain(`x-request-id: ${body.requestId}`);
    expect(head).toContain(`content-length: ${Buffer.byteLength(text)}`);
    expect(socket.destroy).toHaveBeenCalledWith(error);
  });

  it('writes nothing on a connection the client reset', () => {
    const socket = fakeSocket();
    replyToClientError(Object.assign(new Error('reset'), { code: 'ECONNRESET' }), socket as any);
    expect(socket.write).not.toHaveBeenCalled();
  });
});
