/** Metadata key of `@JobHandler`: the job type and its options. */
export const JOB_HANDLER_METADATA = 'jobs:handler';

/** PostgreSQL schema of pg-boss's tables (created by a migration, see docs/workers.md). */
export const JOBS_SCHEMA = 'pgboss';

/** Metric names (docs/observability.md). */
export const JOBS_TOTAL_METRIC = 'jobs_total';
export const JOB_DURATION_METRIC = 'job_duration_seconds';
export const JOBS_QUEUED_METRIC = 'jobs_queued';
export const JOBS_OLDEST_QUEUED_AGE_METRIC = 'jobs_oldest_queued_age_seconds';

/**
 * The longest a scrape waits for the queue gauges' query (a connection included); past it the
 * scrape goes on without them rather than hang on a saturated pool or a slow database.
 */
export const QUEUE_DEPTH_TIMEOUT_MS = 2_000;
