import { randomUUID } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import { ArgumentMetadata, BadRequestException, ValidationPipe } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter, NestFastifyApplication } from '@nestjs/platform-fastify';
import { PinoNestLogger } from '@app/logging';
import { containsNulCharacter, nestsDeeperThan } from './body-depth';
import { replyToClientError, replyToFrameworkError } from './http-client-errors';
import { HttpErrorFilter } from './http-error.filter';
import { setupOpenApi } from './http-openapi';
import { bindInterceptorsInCallerScope } from './http-interceptor-scope';
import { registerHttpPlugins } from './http-plugins';
import { createResponseHeadersHook } from './http-security-headers';
import { separateOperationsRoutes, serveOperationsOnly } from './http-operations';
import { HttpAppOptions } from './interfaces';
import {
  HEADERS_TIMEOUT_MS,
  KEEP_ALIVE_TIMEOUT_MS,
  MAX_BODY_DEPTH,
  REQUEST_ID_HEADER,
  REQUEST_TIMEOUT_MS,
  SANE_REQUEST_ID,
} from './http.constants';

/** Echoes a sane incoming request id, otherwise makes a new UUID (docs/api.md). */
export function requestIdFor(request: { headers: IncomingHttpHeaders }): string {
  const incoming = request.headers[REQUEST_ID_HEADER];
  return typeof incoming === 'string' && SANE_REQUEST_ID.test(incoming) ? incoming : randomUUID();
}

/**
 * Nest's pipe with `transform: true` also converts route and query primitives with `Number()`,
 * which accepts `0x10`, `1e3` and ` 7 `; loadstar parses those strictly instead (`ParseIdPipe`,
 * `@Type`-less DTO transforms), so primitives are passed through untouched.
 */
class StrictValidationPipe extends ValidationPipe {
  protected override transformPrimitive(value: unknown): unknown {
    return value;
  }

  override transform(value: unknown, metadata: ArgumentMetadata): Promise<unknown> {
    if (metadata.type === 'body' && nestsDeeperThan(value, MAX_BODY_DEPTH)) {
      throw new BadRequestException(`the body nests deeper than ${MAX_BODY_DEPTH} levels`);
    }
    if (metadata.type === 'body' && containsNulCharacter(value)) {
      throw new BadRequestException('text must not contain the NUL character (\\u0000)');
    }
    return super.transform(value, metadata);
  }
}

/**
 * Unknown fields, missing fields and wrong types are `400`s; bodies are turned into DTO
 * instances so services never see a raw object.
 */
export function createValidationPipe(): ValidationPipe {
  return new StrictValidationPipe({
    whitelist: true,
    forbidNonWhitelisted: true,
    forbidUnknownValues: true,
    transform: true,
    validationError: { target: false, value: false },
  });
}

/**
 * Builds the Nest application on Fastify exactly as production runs it (request ids, error
 * shape, validation, body limit, proxy trust, timeouts, OpenAPI at `/docs` unless switched
 * off, operations routes kept off the public listener when `OPS_PORT` is set). `main.ts` and
 * the e2e tests both build the app through here and listen through `listenHttpApp`, so tests
 * exercise what ships.
 */
export async function createHttpApp(
  rootModule: Parameters<typeof NestFactory.create>[0],
  options: HttpAppOptions,
): Promise<NestFastifyApplication> {
  bindInterceptorsInCallerScope();
  const adapter = new FastifyAdapter({
    logger: false,
    requestIdHeader: false,
    genReqId: requestIdFor,
    trustProxy: options.trustProxy,
    bodyLimit: options.bodyLimitBytes,
    keepAliveTimeout: KEEP_ALIVE_TIMEOUT_MS,
    requestTimeout: REQUEST_TIMEOUT_MS,
    // during shutdown a request already on a kept-alive connection is still served (with
    // `Connection: close`); refusing it would fail a request no load balancer may retry
    return503OnClosing: false,
    forceCloseConnections: 'idle',
    frameworkErrors: replyToFrameworkError,
    clientErrorHandler: replyToClientError,
  });
  const fastify = adapter.getInstance();
  fastify.server.headersTimeout = HEADERS_TIMEOUT_MS;
  fastify.addHook('onRequest', createResponseHeadersHook());
  if (options.operations) separateOperationsRoutes(fastify);
  if (options.operationsOnly) serveOperationsOnly(fastify);

  const app = await NestFactory.create<NestFastifyApplication>(rootModule, adapter, {
    abortOnError: false,
    bufferLogs: true,
  });
  // pino (LoggingModule, which the root module must import) replaces Nest's console logger;
  // lines logged while the app was being built were buffered until now.
  app.useLogger(app.get(PinoNestLogger));
  app.useGlobalFilters(new HttpErrorFilter());
  app.useGlobalPipes(createValidationPipe());
  await registerHttpPlugins(app, options);
  if (options.docsEnabled) setupOpenApi(app, options);
  return app;
}
