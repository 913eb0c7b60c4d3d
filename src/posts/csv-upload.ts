import { Readable } from 'node:stream';
import {
  applyDecorators,
  createParamDecorator,
  ExecutionContext,
  Injectable,
  OnModuleInit,
  UnsupportedMediaTypeException,
} from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import { RouteConfig } from '@nestjs/platform-fastify';
import { ApiBody, ApiConsumes, ApiUnsupportedMediaTypeResponse } from '@nestjs/swagger';
import type { FastifyInstance, FastifyRequest } from 'fastify';

const CSV_MEDIA_TYPE = 'text/csv';
/** Route config flag of the routes that take a `text/csv` body as a stream. */
const CSV_STREAM_BODY = 'loadstar:posts:csv-stream-body';

/** The body of a {@link AcceptsCsvStream} route, unread. */
export interface CsvUploadBody {
  stream: Readable;
  /** `Content-Length`, when the client sent one. */
  declaredBytes: number | undefined;
}

/**
 * Teaches Fastify `text/csv`: on routes marked with {@link AcceptsCsvStream} the request
 * stream is handed through unread (Fastify's 1 MB body limit applies only to bodies it buffers,
 * so the route enforces its own); every other route answers 415, as before.
 */
@Injectable()
export class CsvBodyParser implements OnModuleInit {
  constructor(private readonly adapterHost: HttpAdapterHost) {}

  onModuleInit(): void {
    const fastify = this.adapterHost.httpAdapter.getInstance<FastifyInstance>();
    if (fastify.hasContentTypeParser(CSV_MEDIA_TYPE)) return;
    fastify.addContentTypeParser(CSV_MEDIA_TYPE, (request, payload, done) => {
      if (Reflect.get(request.routeOptions.config, CSV_STREAM_BODY) === true) done(null, payload);
      else
        done(
          new UnsupportedMediaTypeException(`Unsupported Media Type: ${CSV_MEDIA_TYPE}`),
          undefined,
        );
    });
  }
}

/** The route takes its `text/csv` body as a stream: read it with {@link CsvUpload}. */
export function AcceptsCsvStream(description: string): MethodDecorator {
  return applyDecorators(
    RouteConfig({ [CSV_STREAM_BODY]: true }),
    ApiConsumes(CSV_MEDIA_TYPE),
    ApiBody({ description, schema: { type: 'string', format: 'binary' } }),
    ApiUnsupportedMediaTypeResponse({ description: `Content-Type is not ${CSV_MEDIA_TYPE}` }),
  );
}

/** The unread `text/csv` body of an {@link AcceptsCsvStream} route; 415 for other types. */
export const CsvUpload = createParamDecorator(
  (_: unknown, context: ExecutionContext): CsvUploadBody => {
    const request = context.switchToHttp().getRequest<FastifyRequest>();
    const mediaType = request.headers['content-type']?.split(';', 1)[0].trim().toLowerCase();
    if (mediaType !== CSV_MEDIA_TYPE) {
      throw new UnsupportedMediaTypeException(`Content-Type must be ${CSV_MEDIA_TYPE}`);
    }
    const declaredBytes = Number(request.headers['content-length']);
    return {
      // Fastify skips parsing an empty body, which the import then rejects as empty.
      stream: request.body instanceof Readable ? request.body : Readable.from([]),
      declaredBytes: Number.isSafeInteger(declaredBytes) ? declaredBytes : undefined,
    };
  },
);
