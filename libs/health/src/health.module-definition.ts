import { ConfigurableModuleBuilder } from '@nestjs/common';
import { HealthModuleOptions } from './interfaces';

export const {
  ConfigurableModuleClass: HealthOptionsModule,
  MODULE_OPTIONS_TOKEN: HEALTH_MODULE_OPTIONS,
  ASYNC_OPTIONS_TYPE: HEALTH_ASYNC_OPTIONS_TYPE,
  OPTIONS_TYPE: HEALTH_OPTIONS_TYPE,
} = new ConfigurableModuleBuilder<HealthModuleOptions>().setClassMethodName('forRoot').build();
