import { ConfigurableModuleBuilder } from '@nestjs/common';
import { MetricsModuleOptions } from './interfaces';

export const {
  ConfigurableModuleClass: MetricsOptionsModule,
  MODULE_OPTIONS_TOKEN: METRICS_MODULE_OPTIONS,
  ASYNC_OPTIONS_TYPE: METRICS_ASYNC_OPTIONS_TYPE,
  OPTIONS_TYPE: METRICS_OPTIONS_TYPE,
} = new ConfigurableModuleBuilder<MetricsModuleOptions>().setClassMethodName('forRoot').build();
