export * from './invalidation-bus';
export * from './local-write-log';
export * from './memory-lru.store';
export * from './memory-tag-index';
export * from './redis-tier';
