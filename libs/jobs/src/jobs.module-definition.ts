import { ConfigurableModuleBuilder } from '@nestjs/common';
import { JobsModuleOptions } from './interfaces';

export const {
  ConfigurableModuleClass: JobsOptionsModule,
  MODULE_OPTIONS_TOKEN: JOBS_MODULE_OPTIONS,
} = new ConfigurableModuleBuilder<JobsModuleOptions>()
  .setClassMethodName('forRoot')
  .setExtras({ isGlobal: false }, (definition, extras) => ({
    ...definition,
    global: extras.isGlobal,
  }))
  .build();
