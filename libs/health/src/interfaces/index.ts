export * from './health-module-options.interface';
