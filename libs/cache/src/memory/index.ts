export * from './memory-lru.store';
export * from './memory-tag-index';
