import type { ResourceLimits } from 'node:worker_threads';

/** @see WorkerModuleOptions.resourceLimits */
export const DEFAULT_RESOURCE_LIMITS: ResourceLimits = {
  maxOldGenerationSizeMb: 256,
  maxYoungGenerationSizeMb: 32,
  stackSizeMb: 4,
};

/** @see WorkerModuleOptions.closeTimeoutMs */
export const DEFAULT_CLOSE_TIMEOUT_MS = 10_000;
export const DEFAULT_NICE_INCREMENT = 10;

/** Metric names (docs/observability.md). */
export const WORKER_POOL_QUEUE_SIZE = 'worker_pool_queue_size';
export const WORKER_POOL_UTILIZATION = 'worker_pool_utilization';
export const WORKER_POOL_TASK_DURATION = 'worker_pool_task_duration_seconds';
