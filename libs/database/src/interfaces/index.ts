export * from './database-module-options.interface';
