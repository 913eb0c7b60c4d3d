export * from './dashboard.dto';
