export * from './cached-body';
export * from './not-modified.hook';
