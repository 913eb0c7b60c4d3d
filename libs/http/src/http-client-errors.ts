import { randomUUID } from 'node:crypto';
import { ServerResponse, STATUS_CODES } from 'node:http';
import type { Duplex } from 'node:stream';
import { HttpException } from '@nestjs/common';
import { REQUEST_ID_HEADER } from './http.constants';
import { toErrorResponse } from './http.errors';

/**
 * Fastify's `frameworkErrors`: what the router refuses before Nest sees the request (a path
 * that is not valid percent-encoding, a parameter longer than `maxParamLength`) leaves in the
 * contract's shape with its request id; Fastify's own answer has neither. Written on the raw
 * response, as Fastify's default does (and because `@nestjs/platform-fastify` brings its own
 * copy of Fastify's reply types).
 */
export function replyToFrameworkError(
  error: Error,
  request: { id: string },
  reply: { raw: ServerResponse },
): void {
  const { body, headers } = toErrorResponse(error, request.id);
  const text = JSON.stringify(body);
  reply.raw
    .writeHead(body.statusCode, {
      ...headers,
      'content-type': 'application/json; charset=utf-8',
      'content-length': Buffer.byteLength(text),
      [REQUEST_ID_HEADER]: request.id,
    })
    .end(text);
}

const CLIENT_ERRORS: Record<string, { status: number; message: string }> = {
  ERR_HTTP_REQUEST_TIMEOUT: { status: 408, message: 'the request did not arrive in time' },
  HPE_HEADER_OVERFLOW: { status: 431, message: 'the request line and headers exceed 16 KB' },
};
const MALFORMED = { status: 400, message: 'malformed HTTP request' };

/**
 * Fastify's `clientErrorHandler`: a request Node's HTTP parser cannot read (headers or URL over
 * 16 KB, a broken request line, headers that never finish) never reaches Fastify, so the answer
 * is written on the socket here, still in the contract's shape, before the socket is closed.
 */
export function replyToClientError(error: NodeJS.ErrnoException, socket: Duplex): void {
  // a reset connection has nobody left to answer
  if (error.code === 'ECONNRESET' || socket.destroyed) return;
  if (socket.writable) {
    const { status, message } = CLIENT_ERRORS[error.code ?? ''] ?? MALFORMED;
    const requestId = randomUUID();
    const text = JSON.stringify(
      toErrorResponse(new HttpException(message, status), requestId).body,
    );
    socket.write(
      `HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\n` +
        `content-type: application/json; charset=utf-8\r\n` +
        `content-length: ${Buffer.byteLength(text)}\r\n` +
        `${REQUEST_ID_HEADER}: ${requestId}\r\nconnection: close\r\n\r\n${text}`,
    );
  }
  socket.destroy(error);
}
