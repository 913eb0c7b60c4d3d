export * from './read-through';
export * from './route';
