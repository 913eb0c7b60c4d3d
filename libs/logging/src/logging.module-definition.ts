import { ConfigurableModuleBuilder } from '@nestjs/common';
import { LoggingModuleOptions } from './interfaces';

export const {
  ConfigurableModuleClass: LoggingOptionsModule,
  MODULE_OPTIONS_TOKEN: LOGGING_MODULE_OPTIONS,
  ASYNC_OPTIONS_TYPE: LOGGING_ASYNC_OPTIONS_TYPE,
  OPTIONS_TYPE: LOGGING_OPTIONS_TYPE,
} = new ConfigurableModuleBuilder<LoggingModuleOptions>().setClassMethodName('forRoot').build();
