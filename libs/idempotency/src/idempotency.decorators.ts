import { applyDecorators, SetMetadata, UseInterceptors } from '@nestjs/common';
import {
  ApiBadRequestResponse,
  ApiConflictResponse,
  ApiHeader,
  ApiUnprocessableEntityResponse,
} from '@nestjs/swagger';
import { IDEMPOTENCY_KEY_MAX_LENGTH, IDEMPOTENT_OPTIONS_METADATA } from './idempotency.constants';
import { IdempotencyInterceptor } from './idempotency.interceptor';
import { IdempotentOptions } from './interfaces';

/**
 * Makes a POST or PATCH route idempotent for clients that send `Idempotency-Key`: a repeat
 * with the same key and body (from the same scope, e.g. user) is answered with the first
 * response and `Idempotent-Replayed: true` and never runs twice, concurrent repeats included;
 * the same key with another body is a 422. Requests without the header are unaffected.
 * The handler and the stored response share one database transaction (see
 * {@link IdempotentOptions.transaction}): its queries must go through
 * `DatabaseService.manager`, and what must wait for the commit through
 * `DatabaseService.afterCommit`.
 *
 * @example
 * @Post()
 * @Authenticated()
 * @Idempotent()
 * create(@Body() input: CreatePostDto) { … }
 */
export function Idempotent(options: IdempotentOptions = {}): MethodDecorator {
  return applyDecorators(
    SetMetadata(IDEMPOTENT_OPTIONS_METADATA, options),
    UseInterceptors(IdempotencyInterceptor),
    ApiHeader({
      name: 'Idempotency-Key',
      required: false,
      description:
        `1 to ${IDEMPOTENCY_KEY_MAX_LENGTH} visible ASCII characters (e.g. a UUID), one per ` +
        'intended change. A repeat with the same key and body within 24 h is answered with ' +
        'the stored response and `Idempotent-Replayed: true`, without running again.',
    }),
    ApiBadRequestResponse({ description: 'malformed Idempotency-Key' }),
    ApiConflictResponse({
      description: 'a request with this Idempotency-Key is still in progress',
    }),
    ApiUnprocessableEntityResponse({
      description: 'Idempotency-Key already used with another method, URL or body',
    }),
  );
}
