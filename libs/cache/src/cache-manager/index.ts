export * from './cache-manager.provider';
export * from './nest-cache-interceptor.privacy';
