export * from './worker-module-options.interface';
