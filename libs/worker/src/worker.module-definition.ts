import { ConfigurableModuleBuilder } from '@nestjs/common';
import { WorkerModuleOptions } from './interfaces';

export const {
  ConfigurableModuleClass: WorkerOptionsModule,
  MODULE_OPTIONS_TOKEN: WORKER_MODULE_OPTIONS,
  ASYNC_OPTIONS_TYPE: WORKER_ASYNC_OPTIONS_TYPE,
  OPTIONS_TYPE: WORKER_OPTIONS_TYPE,
} = new ConfigurableModuleBuilder<WorkerModuleOptions>()
  .setClassMethodName('forRoot')
  .setExtras({ isGlobal: false }, (definition, extras) => ({
    ...definition,
    global: extras.isGlobal,
  }))
  .build();
