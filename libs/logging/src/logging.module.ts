import { DynamicModule, Inject, Module, OnApplicationShutdown } from '@nestjs/common';
import { LoggerModule, Params } from 'nestjs-pino';
import type { DestinationStream, Logger } from 'pino';
import { LOG_DESTINATION, ROOT_LOGGER } from './logging.constants';
import { RequestLogHooks } from './logging.hooks';
import { createLogDestination, createRootLogger, flushLogDestination } from './logging.logger';
import {
  LOGGING_ASYNC_OPTIONS_TYPE,
  LOGGING_MODULE_OPTIONS,
  LOGGING_OPTIONS_TYPE,
  LoggingOptionsModule,
} from './logging.module-definition';

/**
 * pino as the application's logger, through nestjs-pino: Nest's `Logger` (with a context per
 * class) and `@InjectPinoLogger()` both write JSON lines to an asynchronous stdout, bound to the
 * request being served (`requestId`), with secrets redacted; one access-log line per request.
 * `createHttpApp` makes it Nest's logger (`bufferLogs` + `useLogger`), so bootstrap lines go
 * through it too. Fastify's own logger stays off: nothing is logged twice.
 *
 * @example
 * LoggingModule.forRoot({ level: 'info', slowRequestMs: 500 })
 */
@Module({})
export class LoggingModule implements OnApplicationShutdown {
  static forRoot(options: typeof LOGGING_OPTIONS_TYPE): DynamicModule {
    return LoggingModule.assemble(LoggingOptionsModule.forRoot(options));
  }

  static forRootAsync(options: typeof LOGGING_ASYNC_OPTIONS_TYPE): DynamicModule {
    return LoggingModule.assemble(LoggingOptionsModule.forRootAsync(options));
  }

  private static assemble(definition: DynamicModule): DynamicModule {
    const optionsModule: DynamicModule = {
      ...definition,
      providers: [
        ...(definition.providers ?? []),
        {
          provide: LOG_DESTINATION,
          inject: [LOGGING_MODULE_OPTIONS],
          useFactory: createLogDestination,
        },
        {
          provide: ROOT_LOGGER,
          inject: [LOGGING_MODULE_OPTIONS, LOG_DESTINATION],
          useFactory: createRootLogger,
        },
      ],
      exports: [LOGGING_MODULE_OPTIONS, LOG_DESTINATION, ROOT_LOGGER],
    };
    return {
      module: LoggingModule,
      imports: [
        optionsModule,
        // nestjs-pino provides the loggers; its per-request middleware is replaced by
        // RequestLogHooks (no routes here), and `useExisting` keeps it from building a
        // second pino-http logger.
        LoggerModule.forRootAsync({
          imports: [optionsModule],
          inject: [ROOT_LOGGER],
          useFactory: (root: Logger): Params => ({
            pinoHttp: { logger: root },
            useExisting: true,
            forRoutes: [],
          }),
        }),
      ],
      providers: [RequestLogHooks],
    };
  }

  constructor(@Inject(LOG_DESTINATION) private readonly destination: DestinationStream) {}

  onApplicationShutdown(): void {
    flushLogDestination(this.destination);
  }
}
