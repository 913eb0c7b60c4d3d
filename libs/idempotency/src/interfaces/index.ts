export * from './idempotency-module-options.interface';
