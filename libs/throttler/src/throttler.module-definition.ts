import { ConfigurableModuleBuilder } from '@nestjs/common';
import { RateLimitModuleOptions } from './interfaces';

export const {
  ConfigurableModuleClass: RateLimitOptionsModule,
  MODULE_OPTIONS_TOKEN: RATE_LIMIT_MODULE_OPTIONS,
  ASYNC_OPTIONS_TYPE: RATE_LIMIT_ASYNC_OPTIONS_TYPE,
  OPTIONS_TYPE: RATE_LIMIT_OPTIONS_TYPE,
} = new ConfigurableModuleBuilder<RateLimitModuleOptions>()
  .setClassMethodName('forRoot')
  .setExtras({ isGlobal: false }, (definition, extras) => ({
    ...definition,
    global: extras.isGlobal,
  }))
  .build();
