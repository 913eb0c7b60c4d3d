export * from './coherence';
export * from './invalidation-bus';
export * from './local-write-log';
