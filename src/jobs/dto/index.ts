export * from './job.dto';
export * from './list-jobs.query';
