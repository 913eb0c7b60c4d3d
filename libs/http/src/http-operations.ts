import { once } from 'node:events';
import { createServer, IncomingMessage, Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { NotFoundException } from '@nestjs/common';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import type {
  FastifyInstance,
  FastifyReply,
  FastifyRequest,
  HookHandlerDoneFunction,
} from 'fastify';
import { replyToClientError } from './http-client-errors';
import {
  HEADERS_TIMEOUT_MS,
  KEEP_ALIVE_TIMEOUT_MS,
  OPERATIONS_PATH,
  REQUEST_TIMEOUT_MS,
  WORKER_PATH,
} from './http.constants';
import { toErrorResponse } from './http.errors';
import { HttpAppOptions } from './interfaces';

/** Marks the requests that arrived on the operations listener. */
const VIA_OPERATIONS_LISTENER = Symbol('loadstar:http:operations-listener');

type MarkedRequest = IncomingMessage & { [VIA_OPERATIONS_LISTENER]?: true };

/** Where the app listens, as bound (`http://0.0.0.0:3000`, not a guess at a reachable name). */
export interface ListeningAddresses {
  /** The public listener. */
  api: string;
  /** The operations listener, when `OPS_PORT` is set. */
  operations?: string;
}

/**
 * The URL of what a listener is bound to, wildcard addresses included: `0.0.0.0` or `::`
 * means every interface, which is what an operator needs to know (Nest's `getUrl()` shows
 * `127.0.0.1` instead).
 *
 * @example formatBoundAddress({ address: '::', family: 'IPv6', port: 3000 }) // 'http://[::]:3000'
 */
export function formatBoundAddress(address: AddressInfo): string {
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  return `http://${host}:${address.port}`;
}

/**
 * With a separate operations listener, each route is served on one listener only: health,
 * metrics and OpenAPI on the operations one, everything else on the public one. The other
 * listener answers them as it answers an unknown route (404), so the public port reveals
 * nothing about them. Installed by `createHttpApp` when `OPS_PORT` is set.
 */
export function separateOperationsRoutes(fastify: FastifyInstance): void {
  fastify.addHook(
    'onRequest',
    (request: FastifyRequest, reply: FastifyReply, done: HookHandlerDoneFunction) => {
      const viaOperations = (request.raw as MarkedRequest)[VIA_OPERATIONS_LISTENER] === true;
      if (viaOperations === OPERATIONS_PATH.test(request.url)) {
        done();
        return;
      }
      replyNotFound(request, reply);
    },
  );
}

/** Answers as for an unknown route, so that a route served elsewhere reveals nothing. */
function replyNotFound(request: FastifyRequest, reply: FastifyReply): void {
  const { body } = toErrorResponse(
    new NotFoundException(`Cannot ${request.method} ${request.url}`),
    request.id,
  );
  void reply.code(404).send(body);
}

/**
 * A job worker process (`PROCESS_ROLE=worker`) builds the whole application, since its
 * handlers need the domain's services, but serves only `/health/*` and `/metrics`: every
 * other route is a 404. Installed by `createHttpApp`.
 */
export function serveOperationsOnly(fastify: FastifyInstance): void {
  fastify.addHook(
    'onRequest',
    (request: FastifyRequest, reply: FastifyReply, done: HookHandlerDoneFunction) => {
      if (WORKER_PATH.test(request.url)) done();
      else replyNotFound(request, reply);
    },
  );
}

/**
 * A second HTTP server on the same Fastify instance (its router, hooks and Nest routes), as
 * Fastify itself does for a host with several addresses; it closes with the public listener.
 */
async function listenOperations(
  fastify: FastifyInstance,
  port: number,
  host: string,
): Promise<Server> {
  const server = createServer((request: MarkedRequest, response) => {
    request[VIA_OPERATIONS_LISTENER] = true;
    fastify.routing(request, response);
  });
  server.keepAliveTimeout = KEEP_ALIVE_TIMEOUT_MS;
  server.headersTimeout = HEADERS_TIMEOUT_MS;
  server.requestTimeout = REQUEST_TIMEOUT_MS;
  server.on('clientError', replyToClientError);
  // once no request of the public listener is left, probes and scrapes have no purpose either
  fastify.server.once('close', () => server.close());
  server.listen(port, host);
  await Promise.race([
    once(server, 'listening'),
    once(server, 'error').then(([error]) => Promise.reject(error as Error)),
  ]);
  return server;
}

/**
 * Starts the public listener and, with `OPS_PORT`, the operations listener; `main.ts` and the
 * e2e tests listen through here. On an error the caller closes the app (and with it a
 * listener already started).
 *
 * @returns the addresses actually bound
 * @example const { api, operations } = await listenHttpApp(app, config.http);
 */
export async function listenHttpApp(
  app: NestFastifyApplication,
  http: Pick<HttpAppOptions, 'port' | 'host' | 'operations'>,
): Promise<ListeningAddresses> {
  await app.listen({ port: http.port, host: http.host });
  const fastify = app.getHttpAdapter().getInstance();
  const api = formatBoundAddress(fastify.server.address() as AddressInfo);
  if (!http.operations) return { api };
  const server = await listenOperations(fastify, http.operations.port, http.operations.host);
  return { api, operations: formatBoundAddress(server.address() as AddressInfo) };
}
