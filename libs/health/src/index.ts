export * from './interfaces';
export { HealthModule } from './health.module';
export { ReadinessState } from './readiness.state';
export { HealthCheckFailure } from './health.filter';
