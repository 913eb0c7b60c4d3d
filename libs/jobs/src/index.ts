export * from './interfaces';
export { JobsModule } from './jobs.module';
export { JobsService } from './jobs.service';
export { defineJob, JobHandler } from './jobs.decorators';
export { JobFailure } from './jobs.errors';
export { JOBS_SCHEMA } from './jobs.constants';
