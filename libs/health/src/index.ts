export * from './interfaces';
export { HealthModule } from './health.module';
export { ReadinessState } from './readiness.state';
export { type HealthCheckFailure } from './health.filter';
