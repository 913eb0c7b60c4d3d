export * from './interfaces';
export { WorkerModule } from './worker.module';
export { WorkerService } from './worker.service';
export { defineWorkerTask, type WorkerTask, type WorkerTaskHandler } from './worker-task';
export { DisconnectSignal } from './worker.decorators';
export {
  ClientDisconnectedException,
  WorkerPoolBusyException,
  WorkerTaskTimeoutException,
} from './worker.errors';
export {
  WORKER_POOL_QUEUE_SIZE,
  WORKER_POOL_TASK_DURATION,
  WORKER_POOL_UTILIZATION,
} from './worker.constants';
