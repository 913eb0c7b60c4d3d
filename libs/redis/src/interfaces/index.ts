export * from './redis-connection-options.interface';
