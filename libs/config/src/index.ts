export * from './interfaces';
export { ConfigValidationError } from './config.errors';
export { parseEnvironment } from './config.schema';
export {
  ContainerResources,
  ContainerResourcesOptions,
  readContainerResources,
} from './config.resources';
export { LoadstarConfigModule, LoadstarConfigService } from './config.module';
