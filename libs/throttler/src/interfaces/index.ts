export * from './throttler-module-options.interface';
