export * from './logging-module-options.interface';
