import { ArgumentsHost, Catch, ExceptionFilter, ServiceUnavailableException } from '@nestjs/common';
import type { HealthCheckResult } from '@nestjs/terminus';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { toErrorResponse } from '@app/http';

/** A failed check's 503 body: the contract's error shape plus Terminus' per-part details. */
export interface HealthCheckFailure {
  statusCode: 503;
  error: 'Service Unavailable';
  /** Names every part that is down, e.g. `unhealthy: database (connect ECONNREFUSED …)`. */
  message: string;
  requestId: string;
  status: HealthCheckResult['status'];
  details: HealthCheckResult['details'];
}

function isHealthCheckResult(value: unknown): value is HealthCheckResult {
  return typeof value === 'object' && value !== null && 'details' in value && 'status' in value;
}

/** `database (connect ECONNREFUSED …), redis (…)`: the parts that are down and why. */
export function describeFailures(details: HealthCheckResult['details']): string {
  return Object.entries(details)
    .filter(([, detail]) => detail.status !== 'up')
    .map(([part, detail]) =>
      typeof detail.message === 'string' ? `${part} (${detail.message})` : part,
    )
    .join(', ');
}

/**
 * Terminus answers a failed check with a 503 whose body the global error filter would reduce
 * to "Error"; this keeps which part failed, in the contract's error shape.
 */
@Catch(ServiceUnavailableException)
export class HealthCheckFailedFilter implements ExceptionFilter {
  catch(exception: ServiceUnavailableException, host: ArgumentsHost): void {
    const http = host.switchToHttp();
    const request = http.getRequest<FastifyRequest>();
    const reply = http.getResponse<FastifyReply>();
    const result = exception.getResponse();
    if (!isHealthCheckResult(result)) {
      const { body, headers } = toErrorResponse(exception, request.id);
      void reply.code(body.statusCode).headers(headers).send(body);
      return;
    }
    const body: HealthCheckFailure = {
      statusCode: 503,
      error: 'Service Unavailable',
      message: `unhealthy: ${describeFailures(result.details)}`,
      requestId: request.id,
      status: result.status,
      details: result.details,
    };
    void reply.code(503).header('cache-control', 'no-cache, no-store, must-revalidate').send(body);
  }
}
