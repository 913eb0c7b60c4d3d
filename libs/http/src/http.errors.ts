import { HttpException, HttpStatus, Logger } from '@nestjs/common';
import { STATUS_CODES } from 'node:http';
import { UNAVAILABLE_RETRY_AFTER_S } from './http.constants';

/** The contract's error body. */
export interface ErrorBody {
  statusCode: number;
  error: string;
  message: string;
  requestId: string;
}

/** An error body plus the headers that go with it. */
export interface ErrorResponse {
  body: ErrorBody;
  headers: Record<string, string>;
}

/**
 * PostgreSQL and driver failures that mean "the database is unavailable right now" rather
 * than "this request is wrong": connection refused or lost, pool wait timed out, server
 * shutting down or starting, too many connections, statement timeout.
 */
const UNAVAILABLE_PG_CODES = new Set([
  '57P01',
  '57P02',
  '57P03',
  '53300',
  '57014',
  '08000',
  '08001',
  '08003',
  '08006',
]);
const UNAVAILABLE_NODE_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'ENOTFOUND',
  'EHOSTUNREACH',
]);
const UNAVAILABLE_MESSAGES = [
  'timeout exceeded when trying to connect',
  'Connection terminated',
  'Query read timeout',
  'connection timeout',
];

const logger = new Logger('HttpErrors');

/**
 * A 429 or 503 that says when to come back: `Retry-After` carries `retryAfterS` instead of
 * the one second given for an unavailable dependency.
 *
 * @example throw new RetryLaterException(429, 'import quota used up', 1_200);
 */
export class RetryLaterException extends HttpException {
  constructor(
    status: HttpStatus.TOO_MANY_REQUESTS | HttpStatus.SERVICE_UNAVAILABLE,
    message: string,
    /** Whole seconds, at least 1. */
    readonly retryAfterS: number,
  ) {
    super(message, status);
  }
}

function isDependencyUnavailable(
  error: Error & { code?: unknown; driverError?: unknown },
): boolean {
  const code = typeof error.code === 'string' ? error.code : undefined;
  if (code && (UNAVAILABLE_PG_CODES.has(code) || UNAVAILABLE_NODE_CODES.has(code))) return true;
  if (UNAVAILABLE_MESSAGES.some((text) => error.message?.includes(text))) return true;
  return error.driverError instanceof Error && isDependencyUnavailable(error.driverError);
}

function messageOf(response: string | object): string {
  if (typeof response === 'string') return response;
  const { message } = response as { message?: unknown };
  if (Array.isArray(message)) return message.join('; ');
  return typeof message === 'string' ? message : 'Error';
}

function body(statusCode: number, message: string, requestId: string): ErrorBody {
  return { statusCode, error: STATUS_CODES[statusCode] ?? 'Error', message, requestId };
}

/**
 * Maps anything thrown while serving a request to the contract's error shape. Client
 * mistakes keep their 4xx, an unavailable database becomes 503, everything else is a 500
 * whose details go to the log and never to the client.
 */
export function toErrorResponse(exception: unknown, requestId: string): ErrorResponse {
  if (exception instanceof HttpException) {
    const status = exception.getStatus();
    const headers: Record<string, string> = {};
    if (exception instanceof RetryLaterException) {
      headers['retry-after'] = String(Math.max(1, Math.ceil(exception.retryAfterS)));
    } else if (status === HttpStatus.SERVICE_UNAVAILABLE) {
      headers['retry-after'] = String(UNAVAILABLE_RETRY_AFTER_S);
    }
    return { body: body(status, messageOf(exception.getResponse()), requestId), headers };
  }
  const error = exception instanceof Error ? exception : new Error(String(exception));
  const fastifyStatus = (error as { statusCode?: unknown }).statusCode;
  if (typeof fastifyStatus === 'number' && fastifyStatus >= 400 && fastifyStatus < 500) {
    return { body: body(fastifyStatus, error.message, requestId), headers: {} };
  }
  if (isDependencyUnavailable(error)) {
    logger.warn({ err: error, requestId }, 'dependency unavailable');
    return {
      body: body(503, 'A dependency is unavailable; retry shortly', requestId),
      headers: { 'retry-after': String(UNAVAILABLE_RETRY_AFTER_S) },
    };
  }
  logger.error({ err: error, requestId }, 'unhandled error');
  return { body: body(500, 'Internal server error', requestId), headers: {} };
}
