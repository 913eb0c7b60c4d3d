import { Module } from '@nestjs/common';
import { makeGaugeProvider, makeHistogramProvider } from '@willsoto/nestjs-prometheus';
import {
  WORKER_POOL_QUEUE_SIZE,
  WORKER_POOL_TASK_DURATION,
  WORKER_POOL_UTILIZATION,
} from './worker.constants';
import { WorkerOptionsModule } from './worker.module-definition';
import { WorkerService } from './worker.service';

/**
 * The CPU offload pool ({@link WorkerService}) and its metrics. `isGlobal: true` makes the one
 * pool of the process available to every feature module.
 *
 * @example
 * WorkerModule.forRoot({ size: 3, maxQueue: 192, taskTimeoutMs: 30_000, offload: true, isGlobal: true })
 */
@Module({
  providers: [
    WorkerService,
    makeGaugeProvider({
      name: WORKER_POOL_QUEUE_SIZE,
      help: 'Tasks waiting for a worker thread',
    }),
    makeGaugeProvider({
      name: WORKER_POOL_UTILIZATION,
      help: 'Share of worker threads running a task (0–1)',
    }),
    makeHistogramProvider({
      name: WORKER_POOL_TASK_DURATION,
      help: 'Time from submitting a worker task to its end, queueing included',
      labelNames: ['task', 'outcome'],
      buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    }),
  ],
  exports: [WorkerService],
})
export class WorkerModule extends WorkerOptionsModule {}
