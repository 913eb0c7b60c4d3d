import { ArgumentsHost, Catch, ExceptionFilter } from '@nestjs/common';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { REQUEST_ID_HEADER } from './http.constants';
import { toErrorResponse } from './http.errors';

/**
 * Global filter: every error leaves in the contract's shape (see {@link toErrorResponse}).
 * It sets `x-request-id` itself too: a request whose method has no route at all and whose
 * path is not valid percent-encoding (`PROPFIND /x/%ff`) reaches the not-found handler
 * without the `onRequest` hooks having run.
 */
@Catch()
export class HttpErrorFilter implements ExceptionFilter {
  catch(exception: unknown, host: ArgumentsHost): void {
    const http = host.switchToHttp();
    const request = http.getRequest<FastifyRequest>();
    const reply = http.getResponse<FastifyReply>();
    const { body, headers } = toErrorResponse(exception, request.id);
    void reply
      .code(body.statusCode)
      // over any `@Header('Content-Type', …)` of the route, which would leave the body unserialized
      .header('content-type', 'application/json; charset=utf-8')
      .header(REQUEST_ID_HEADER, request.id)
      .headers(headers)
      .send(body);
  }
}
