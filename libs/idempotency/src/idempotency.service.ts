import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  ConflictException,
  Inject,
  Injectable,
  Logger,
  OnModuleDestroy,
  OnModuleInit,
  UnprocessableEntityException,
} from '@nestjs/common';
import type { FastifyRequest } from 'fastify';
import {
  DEFAULT_LOCK_TIMEOUT_MS,
  DEFAULT_MAX_STREAMED_BYTES,
  DEFAULT_TTL_MS,
  DEFAULT_WAIT_MS,
  PURGE_INTERVAL_MS,
  WAIT_POLL_MS,
} from './idempotency.constants';
import { IDEMPOTENCY_MODULE_OPTIONS } from './idempotency.module-definition';
import { IdempotencyRepository, StoredResponse } from './idempotency.repository';
import { IdempotencyModuleOptions } from './interfaces';

/** What a request with a key gets to do: run (holding the key), or answer a stored response. */
export type Acquisition =
  { kind: 'run'; token: string } | { kind: 'replay'; response: StoredResponse };

/** A request's key, scope and (when known before it runs) fingerprint. */
export interface KeyedRequest {
  scope: string;
  key: string;
  /** `null` for a streamed body, hashed only as the handler reads it. */
  fingerprint: string | null;
  /** Reads the whole body and returns its fingerprint; called at most once, for a replay. */
  readFingerprint: () => Promise<string>;
}

/**
 * Idempotency keys: the first request with a key claims it and runs; a repeat with the same
 * body gets the stored response, with another body a 422; a repeat sent while the first still
 * runs waits (up to `waitMs`) for its response, then gets a 409. Expired keys are purged.
 */
@Injectable()
export class IdempotencyService implements OnModuleInit, OnModuleDestroy {
  private readonly logger = new Logger(IdempotencyService.name);
  private readonly ttlMs: number;
  private readonly lockTimeoutMs: number;
  private readonly waitMs: number;
  /** Largest streamed body a duplicate is hashed from (`maxStreamedBytes`). */
  readonly maxStreamedBytes: number;
  private purgeTimer: NodeJS.Timeout | undefined;

  constructor(
    private readonly repository: IdempotencyRepository,
    @Inject(IDEMPOTENCY_MODULE_OPTIONS) private readonly options: IdempotencyModuleOptions,
  ) {
    this.maxStreamedBytes = options.maxStreamedBytes ?? DEFAULT_MAX_STREAMED_BYTES;
    this.ttlMs = options.ttlMs ?? DEFAULT_TTL_MS;
    this.lockTimeoutMs = options.lockTimeoutMs ?? DEFAULT_LOCK_TIMEOUT_MS;
    this.waitMs = options.waitMs ?? DEFAULT_WAIT_MS;
  }

  /** Whose keys the request uses; `undefined` serves it without idempotency. */
  scopeOf(request: FastifyRequest): string | undefined {
    return this.options.scope(request);
  }

  onModuleInit(): void {
    this.purgeTimer = setInterval(() => {
      this.repository.purgeExpired().then(
        (count) => count > 0 && this.logger.debug(`purged ${count} expired idempotency keys`),
        (error: unknown) => this.logger.warn({ err: error }, 'purging expired keys failed'),
      );
    }, PURGE_INTERVAL_MS);
    this.purgeTimer.unref();
  }

  onModuleDestroy(): void {
    clearInterval(this.purgeTimer);
  }

  /** Claims the key, or finds the response to replay; throws 422 or 409 as documented. */
  async acquire(request: KeyedRequest): Promise<Acquisition> {
    const { scope, key } = request;
    const token = randomUUID();
    const deadline = Date.now() + this.waitMs;
    for (;;) {
      const claimed = await this.repository.claim(
        scope,
        key,
        request.fingerprint,
        token,
        this.lockTimeoutMs,
        this.ttlMs,
      );
      if (claimed) return { kind: 'run', token };
      const record = await this.repository.find(scope, key);
      // Released or expired between the two statements: claim again.
      if (!record) continue;
      const mine =
        request.fingerprint ?? (record.response ? await request.readFingerprint() : null);
      if (record.fingerprint !== null && mine !== null && record.fingerprint !== mine) {
        throw new UnprocessableEntityException(
          'Idempotency-Key was already used with another request (method, URL or body differ)',
        );
      }
      if (record.response) return { kind: 'replay', response: record.response };
      if (Date.now() >= deadline) {
        throw new ConflictException(
          'a request with this Idempotency-Key is still in progress; retry later',
        );
      }
      await sleep(WAIT_POLL_MS);
    }
  }

  /**
   * Stores the response in the transaction the route wrote in (`DatabaseService.inTransaction`),
   * so that both commit or neither does. A 409 when the key is no longer this request's (its
   * claim ran out and a retry took it over): the write rolls back, the retry applies it.
   */
  async completeWithWrite(
    request: KeyedRequest,
    token: string,
    fingerprint: string,
    response: StoredResponse,
  ): Promise<void> {
    const { scope, key } = request;
    if (!(await this.repository.complete(scope, key, token, fingerprint, response))) {
      throw new ConflictException(
        'this request outlasted its hold on the Idempotency-Key and was undone; retry',
      );
    }
  }

  /**
   * Stores the response of a request that ran and committed on its own (a route with
   * `@Idempotent({ transaction: false })`); a failure to store is logged, not thrown.
   */
  async complete(
    request: KeyedRequest,
    token: string,
    fingerprint: string,
    response: StoredResponse,
  ): Promise<void> {
    try {
      await this.repository.complete(request.scope, request.key, token, fingerprint, response);
    } catch (error) {
      this.logger.warn({ err: error }, 'storing the response of an idempotent request failed');
    }
  }

  /** Frees the key of a request that stored nothing (it failed, or its body was not read). */
  async release(request: KeyedRequest, token: string): Promise<void> {
    try {
      await this.repository.release(request.scope, request.key, token);
    } catch (error) {
      this.logger.warn({ err: error }, 'releasing an idempotency key failed');
    }
  }
}
