import { HttpException, ServiceUnavailableException } from '@nestjs/common';

/** Every thread is busy and the queue is full: a 503 with `Retry-After`, never a backlog. */
export class WorkerPoolBusyException extends ServiceUnavailableException {
  constructor() {
    super('The server is busy; retry shortly');
  }
}

/** A task ran (or waited) longer than `WORKER_TASK_TIMEOUT_MS`: a 503 with `Retry-After`. */
export class WorkerTaskTimeoutException extends ServiceUnavailableException {
  constructor(task: string, timeoutMs: number) {
    super(`The ${task} task did not finish within ${timeoutMs} ms; retry shortly`);
  }
}

/**
 * The reason of a {@link DisconnectSignal} abort. Nobody reads its response; the status is
 * nginx's 499 "client closed request", so logs count it as the client's doing, not a failure.
 */
export class ClientDisconnectedException extends HttpException {
  constructor() {
    super('The client closed the request before the response was sent', 499);
  }
}
