export * from './metrics-module-options.interface';
