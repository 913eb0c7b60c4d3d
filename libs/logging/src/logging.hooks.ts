import { Inject, Injectable, OnModuleInit } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import type {
  FastifyInstance,
  FastifyReply,
  FastifyRequest,
  HookHandlerDoneFunction,
} from 'fastify';
import { storage } from 'nestjs-pino/storage';
import type { Logger } from 'pino';
import { RequestLogContext } from './logging.context';
import { DEFAULT_QUIET_ROUTES, DEFAULT_SLOW_REQUEST_MS, ROOT_LOGGER } from './logging.constants';
import { LOGGING_MODULE_OPTIONS } from './logging.module-definition';
import { LoggingModuleOptions } from './interfaces';

declare module 'fastify' {
  interface FastifyRequest {
    /** @internal the request's log context (see {@link RequestLogHooks}) */
    logContext: RequestLogContext | null;
  }
}

/** Longest path copied into an access-log line; the rest is cut. */
const MAX_LOGGED_PATH = 256;

function pathOf(url: string): string {
  const query = url.indexOf('?');
  const path = query === -1 ? url : url.slice(0, query);
  return path.length > MAX_LOGGED_PATH ? path.slice(0, MAX_LOGGED_PATH) : path;
}

/**
 * The request side of logging, as Fastify hooks rather than nestjs-pino's middleware: that
 * middleware runs before Fastify reads the body, so for requests with a body the handler ran
 * outside its AsyncLocalStorage context, and it makes its own request id instead of the one
 * Fastify already has (`x-request-id`, libs/http).
 *
 * - `onRequest` enters the request's log context, so every `Logger`/`PinoLogger` line written
 *   while serving the request carries `requestId`;
 * - `preHandler` enters it again should anything between the two have left it. Fastify 5 runs
 *   body parsers in the request's async scope, so a body arriving after its headers keeps the
 *   context (test/observability covers it); a parser or plugin that emits from the
 *   connection's scope would not, and this costs one comparison per request;
 * - `onResponse` writes the access-log line: `info`, `warn` when slower than
 *   `slowRequestMs`, `error` for a 5xx, `debug` for quiet routes (health, metrics, docs).
 *
 * @internal installed by {@link LoggingModule}
 */
@Injectable()
export class RequestLogHooks implements OnModuleInit {
  private readonly slowRequestMs: number;
  private readonly quietRoutes: readonly string[];

  constructor(
    @Inject(ROOT_LOGGER) private readonly root: Logger,
    @Inject(LOGGING_MODULE_OPTIONS) options: LoggingModuleOptions,
    private readonly adapterHost: HttpAdapterHost,
  ) {
    this.slowRequestMs = options.slowRequestMs ?? DEFAULT_SLOW_REQUEST_MS;
    this.quietRoutes = options.quietRoutes ?? DEFAULT_QUIET_ROUTES;
  }

  /** Fastify binds hooks to routes when it becomes ready, so routes registered earlier get them. */
  onModuleInit(): void {
    const fastify = this.adapterHost.httpAdapter?.getInstance<FastifyInstance>();
    if (!fastify) return;
    const root = this.root;
    fastify.decorateRequest('logContext', null);
    fastify.addHook(
      'onRequest',
      (request: FastifyRequest, _reply: FastifyReply, done: HookHandlerDoneFunction) => {
        const context = new RequestLogContext(root, request.id);
        request.logContext = context;
        storage.run(context, done);
      },
    );
    fastify.addHook(
      'preHandler',
      (request: FastifyRequest, _reply: FastifyReply, done: HookHandlerDoneFunction) => {
        const context = request.logContext;
        if (context && storage.getStore() !== context) storage.run(context, done);
        else done();
      },
    );
    fastify.addHook(
      'onResponse',
      (request: FastifyRequest, reply: FastifyReply, done: HookHandlerDoneFunction) => {
        this.logCompleted(request, reply);
        done();
      },
    );
  }

  private logCompleted(request: FastifyRequest, reply: FastifyReply): void {
    const durationMs = Math.round(reply.elapsedTime * 1000) / 1000;
    const route = request.routeOptions.url;
    const statusCode = reply.statusCode;
    const quiet = route !== undefined && this.isQuiet(route);
    const level =
      statusCode >= 500 && !quiet
        ? 'error'
        : durationMs > this.slowRequestMs
          ? 'warn'
          : quiet
            ? 'debug'
            : 'info';
    if (!this.root.isLevelEnabled(level)) return;
    this.root[level](
      {
        requestId: request.id,
        method: request.method,
        route: route ?? null,
        path: pathOf(request.url),
        statusCode,
        durationMs,
      },
      level === 'warn' ? 'slow request' : 'request completed',
    );
  }

  private isQuiet(route: string): boolean {
    for (const prefix of this.quietRoutes) if (route.startsWith(prefix)) return true;
    return false;
  }
}
