export * from './interfaces';
export { LoggingModule } from './logging.module';
export { createLogDestination, createRootLogger } from './logging.logger';
export { currentRequestId } from './logging.context';
export { REDACTED, REDACTED_PATHS, ROOT_LOGGER } from './logging.constants';
export { Logger as PinoNestLogger, PinoLogger, InjectPinoLogger } from 'nestjs-pino';
