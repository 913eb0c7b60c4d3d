import {
  CallHandler,
  ExecutionContext,
  HttpException,
  Injectable,
  NestInterceptor,
} from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { defer, lastValueFrom, Observable } from 'rxjs';
import type { RateLimitFailuresOptions } from './throttler.decorators';
import { RATE_LIMIT_FAILURES } from './throttler.constants';
import { FailurePlan, RateLimitFailuresService } from './throttler-failures.service';

/**
 * Bound by `@RateLimitFailures()` to its routes only: reserves the attempt's failures before
 * the handler (and its pipes) run, then keeps them when the handler fails with the failure
 * status, or takes them back otherwise (see {@link RateLimitFailuresService}).
 */
@Injectable()
export class RateLimitFailuresInterceptor implements NestInterceptor {
  // eslint-disable-next-line @typescript-eslint/no-unsafe-function-type
  private readonly plans = new Map<Function, FailurePlan | undefined>();

  constructor(
    private readonly failures: RateLimitFailuresService,
    private readonly reflector: Reflector,
  ) {}

  intercept(context: ExecutionContext, next: CallHandler): Observable<unknown> {
    const handler = context.getHandler();
    let plan = this.plans.get(handler);
    if (plan === undefined && !this.plans.has(handler)) {
      const options = this.reflector.get<RateLimitFailuresOptions>(RATE_LIMIT_FAILURES, handler);
      plan = this.failures.plan(options);
      this.plans.set(handler, plan);
    }
    if (plan === undefined) return next.handle();
    const limited = plan;
    return defer(() => this.attempt(limited, context, next));
  }

  private async attempt(
    plan: FailurePlan,
    context: ExecutionContext,
    next: CallHandler,
  ): Promise<unknown> {
    const reservation = await this.failures.reserve(
      plan,
      context.getArgByIndex<FastifyRequest>(0),
      context.getArgByIndex<FastifyReply>(1),
    );
    let result: unknown;
    try {
      result = await lastValueFrom(next.handle(), { defaultValue: undefined });
    } catch (error) {
      const status = error instanceof HttpException ? error.getStatus() : 500;
      if (status !== plan.failureStatus) await this.failures.cancelled(reservation);
      throw error;
    }
    await this.failures.succeeded(reservation);
    return result;
  }
}
