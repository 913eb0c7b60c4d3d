export * from './loadstar-config.interface';
