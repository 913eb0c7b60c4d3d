export * from './interfaces';
export { ConfigValidationError } from './config.errors';
export { parseEnvironment } from './config.schema';
export { LoadstarConfigModule, LoadstarConfigService } from './config.module';
