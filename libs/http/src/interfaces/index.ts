export * from './http-app-options.interface';
