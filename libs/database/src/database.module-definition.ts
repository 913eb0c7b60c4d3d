import { ConfigurableModuleBuilder } from '@nestjs/common';
import { DatabaseModuleOptions } from './interfaces';

export const {
  ConfigurableModuleClass: DatabaseOptionsModule,
  MODULE_OPTIONS_TOKEN: DATABASE_MODULE_OPTIONS,
  ASYNC_OPTIONS_TYPE: DATABASE_ASYNC_OPTIONS_TYPE,
  OPTIONS_TYPE: DATABASE_OPTIONS_TYPE,
} = new ConfigurableModuleBuilder<DatabaseModuleOptions>().setClassMethodName('forRoot').build();
