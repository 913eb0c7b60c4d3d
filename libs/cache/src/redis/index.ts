export * from './redis-tier';
