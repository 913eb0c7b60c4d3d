import { Readable, pipeline } from 'node:stream';
import {
  BadRequestException,
  CallHandler,
  ExecutionContext,
  HttpStatus,
  Injectable,
  NestInterceptor,
} from '@nestjs/common';
import { HTTP_CODE_METADATA } from '@nestjs/common/constants';
import { Reflector } from '@nestjs/core';
import { DatabaseService } from '@app/database';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { from, lastValueFrom, Observable } from 'rxjs';
import {
  IDEMPOTENCY_KEY_HEADER,
  IDEMPOTENCY_KEY_MAX_LENGTH,
  IDEMPOTENT_OPTIONS_METADATA,
  IDEMPOTENT_REPLAYED_HEADER,
  UNSTORED_HEADERS,
} from './idempotency.constants';
import { StoredResponse } from './idempotency.repository';
import { IdempotencyService, KeyedRequest } from './idempotency.service';
import {
  hashOf,
  parsedBodyFingerprint,
  readStreamFingerprint,
  StreamFingerprint,
} from './request-fingerprint';
import { IdempotentOptions } from './interfaces';

/** Visible ASCII only: a key is an opaque token such as a UUID, never free text. */
const VALID_KEY = new RegExp(`^[\\x21-\\x7e]{1,${IDEMPOTENCY_KEY_MAX_LENGTH}}$`);

/** The request's key, `undefined` without the header; a 400 for a malformed one. */
function keyOf(request: FastifyRequest): string | undefined {
  const key = request.headers[IDEMPOTENCY_KEY_HEADER];
  if (key === undefined) return undefined;
  if (typeof key !== 'string' || !VALID_KEY.test(key)) {
    throw new BadRequestException(
      `Idempotency-Key must be 1 to ${IDEMPOTENCY_KEY_MAX_LENGTH} visible ASCII characters`,
    );
  }
  return key;
}

/** The reply's headers worth serving again with a stored response. */
function storedHeaders(reply: FastifyReply): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(reply.getHeaders())) {
    if (value !== undefined && !UNSTORED_HEADERS.has(name)) headers[name] = String(value);
  }
  return headers;
}

/**
 * Runs a `@Idempotent()` route at most once per (scope, `Idempotency-Key`); see
 * {@link IdempotencyService}. The claim on the key commits at once, so concurrent duplicates
 * see it; the handler then runs in one database transaction that also stores its response
 * under the key, so the route's write and the response commit together or not at all (with
 * `transaction: false`, the response is stored after the handler's own commits). A failed
 * request frees its key, so the client may correct it and send it again with the same key.
 */
@Injectable()
export class IdempotencyInterceptor implements NestInterceptor {
  constructor(
    private readonly idempotency: IdempotencyService,
    private readonly database: DatabaseService,
    private readonly reflector: Reflector,
  ) {}

  intercept(context: ExecutionContext, next: CallHandler): Observable<unknown> {
    const http = context.switchToHttp();
    const request = http.getRequest<FastifyRequest>();
    const key = keyOf(request);
    const scope = key === undefined ? undefined : this.idempotency.scopeOf(request);
    if (key === undefined || scope === undefined) return next.handle();
    return from(this.handle(context, next, request, scope, key));
  }

  private async handle(
    context: ExecutionContext,
    next: CallHandler,
    request: FastifyRequest,
    scope: string,
    key: string,
  ): Promise<unknown> {
    const reply = context.switchToHttp().getResponse<FastifyReply>();
    const streamed = request.body instanceof Readable ? request.body : undefined;
    const keyed: KeyedRequest = {
      scope,
      key,
      fingerprint: streamed
        ? null
        : parsedBodyFingerprint(request.method, request.url, request.body),
      readFingerprint: () =>
        readStreamFingerprint(
          hashOf(request.method, request.url),
          streamed ?? Readable.from([]),
          this.idempotency.maxStreamedBytes,
        ),
    };
    const acquired = await this.idempotency.acquire(keyed);
    if (acquired.kind === 'replay') {
      void reply.headers(acquired.response.headers).header(IDEMPOTENT_REPLAYED_HEADER, 'true');
      return acquired.response.body;
    }

    let streamFingerprint: StreamFingerprint | undefined;
    if (streamed) {
      streamFingerprint = new StreamFingerprint(hashOf(request.method, request.url));
      // The handler reads the hashing stream; how it ends is the handler's business.
      request.body = pipeline(streamed, streamFingerprint, () => undefined);
    }
    const atomic = this.optionsOf(context)?.transaction !== false;
    const run = async (): Promise<unknown> => {
      const body = await lastValueFrom(next.handle(), { defaultValue: undefined });
      const fingerprint = keyed.fingerprint ?? streamFingerprint?.result();
      if (fingerprint === undefined) {
        // A body the handler left unread cannot be told from another: nothing to replay.
        await this.idempotency.release(keyed, acquired.token);
        return body;
      }
      const response: StoredResponse = {
        status: this.statusOf(context, request),
        headers: storedHeaders(reply),
        body,
      };
      if (atomic) {
        await this.idempotency.completeWithWrite(keyed, acquired.token, fingerprint, response);
      } else {
        await this.idempotency.complete(keyed, acquired.token, fingerprint, response);
      }
      return body;
    };
    try {
      return await (atomic ? this.database.inTransaction(run) : run());
    } catch (error) {
      // A response that was committed stays; release frees only a claim.
      await this.idempotency.release(keyed, acquired.token);
      throw error;
    }
  }

  private optionsOf(context: ExecutionContext): IdempotentOptions | undefined {
    return this.reflector.get<IdempotentOptions | undefined>(
      IDEMPOTENT_OPTIONS_METADATA,
      context.getHandler(),
    );
  }

  /** The status Nest answers a handler's result with (`@HttpCode`, else 201 for POST). */
  private statusOf(context: ExecutionContext, request: FastifyRequest): number {
    const declared = this.reflector.get<number | undefined>(
      HTTP_CODE_METADATA,
      context.getHandler(),
    );
    return declared ?? (request.method === 'POST' ? HttpStatus.CREATED : HttpStatus.OK);
  }
}
