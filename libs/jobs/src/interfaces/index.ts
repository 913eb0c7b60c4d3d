export * from './job-handler.interface';
export * from './job.interface';
export * from './jobs-module-options.interface';
