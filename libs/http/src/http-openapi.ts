import { STATUS_CODES } from 'node:http';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { DocumentBuilder, OpenAPIObject, SwaggerModule } from '@nestjs/swagger';
import { OPENAPI_PATH, RATE_LIMITED_PREFIX } from './http.constants';

/** Name of the error shape's schema in the document (`#/components/schemas/ErrorResponse`). */
export const ERROR_RESPONSE_SCHEMA = 'ErrorResponse';

/** The error shape of docs/api.md: every 4xx and 5xx answer has this body and nothing else. */
const ERROR_RESPONSE = {
  type: 'object',
  required: ['statusCode', 'error', 'message', 'requestId'],
  additionalProperties: false,
  properties: {
    statusCode: { type: 'integer', example: 400 },
    error: { type: 'string', description: 'the status text', example: 'Bad Request' },
    message: { type: 'string', example: 'id must be a positive integer' },
    requestId: { type: 'string', description: 'the x-request-id of the answer' },
  },
} as const;

type OperationObject = NonNullable<OpenAPIObject['paths'][string]['get']>;
type ResponseObject = { description: string; content?: unknown };

const METHODS = ['get', 'put', 'post', 'delete', 'patch', 'head', 'options'] as const;

/** Answers every route in the app can give, from what `createHttpApp` installs for all. */
interface GlobalAnswers {
  /** The body limit of Fastify (`413`), on routes with a body. */
  bodyLimitBytes: number;
  /** Routes under this prefix count against the rate limiter's `default` tier (`429`). */
  rateLimitedPrefix: string;
}

/**
 * Documents on each operation the error answers that the app-wide parts give it, beside the
 * ones its decorators declare (`@Authenticated` 401, `@RateLimit` 429, …): malformed requests,
 * the validation pipe and `ParseIdPipe` (`400`), ids beyond the key range
 * (`404` on `{id}` routes), the body limit (`413`), the global rate-limit tier (`429` under
 * {@link GlobalAnswers.rateLimitedPrefix}) and load shedding or an unavailable dependency
 * (`503`). Every error answer gets the `ErrorResponse` schema.
 */
export function documentErrorAnswers(document: OpenAPIObject, answers: GlobalAnswers): void {
  document.components ??= {};
  document.components.schemas = {
    ...document.components.schemas,
    [ERROR_RESPONSE_SCHEMA]: { ...ERROR_RESPONSE, required: [...ERROR_RESPONSE.required] },
  };
  for (const [path, item] of Object.entries(document.paths)) {
    for (const method of METHODS) {
      const operation = item[method];
      if (operation) documentOperation(path, operation, answers);
    }
  }
}

function documentOperation(path: string, operation: OperationObject, answers: GlobalAnswers) {
  const add = (status: number, description: string) => {
    operation.responses[status] ??= { description };
  };
  // any route: a malformed request is refused before routing, input by the validation pipe
  add(400, 'invalid input: a malformed request, or a field, query or path parameter');
  if (path.includes('{id}')) add(404, 'no such resource (or an id beyond the key range)');
  if (operation.requestBody) add(413, `body over ${answers.bodyLimitBytes} bytes`);
  if (path === answers.rateLimitedPrefix || path.startsWith(`${answers.rateLimitedPrefix}/`)) {
    add(429, 'rate limit of tier "default" exceeded; Retry-After gives the seconds to wait');
  }
  add(503, 'overloaded, shutting down or a dependency unavailable; Retry-After in seconds');
  for (const [status, response] of Object.entries(operation.responses)) {
    if (Number(status) < 400) continue;
    const answer = response as ResponseObject;
    answer.description ||= STATUS_CODES[status] ?? status;
    answer.content = {
      'application/json': { schema: { $ref: `#/components/schemas/${ERROR_RESPONSE_SCHEMA}` } },
    };
  }
}

/** Serves the UI at `/docs` and the document at `/docs-json`, error answers included. */
export function setupOpenApi(
  app: NestFastifyApplication,
  options: { version: string; bodyLimitBytes: number },
): void {
  const document = SwaggerModule.createDocument(
    app,
    new DocumentBuilder()
      .setTitle('loadstar')
      .setDescription('The loadstar HTTP API (see docs/api.md in the repository)')
      .setVersion(options.version)
      .addBearerAuth()
      .build(),
  );
  documentErrorAnswers(document, {
    bodyLimitBytes: options.bodyLimitBytes,
    rateLimitedPrefix: RATE_LIMITED_PREFIX,
  });
  SwaggerModule.setup(OPENAPI_PATH, app, document, { jsonDocumentUrl: `${OPENAPI_PATH}-json` });
}
