import { Injectable, OnModuleDestroy } from '@nestjs/common';

/**
 * Whether the process still takes new traffic. `/health/ready` answers 503 from the moment
 * {@link markShuttingDown} is called, so load balancers stop sending requests while the ones
 * in flight finish. The shutdown sequence calls it first thing on SIGTERM
 * (`app.get(ReadinessState).markShuttingDown()`); closing the app marks it too.
 */
@Injectable()
export class ReadinessState implements OnModuleDestroy {
  private shuttingDown = false;

  /** `true` once shutdown has begun; it never goes back. */
  get isShuttingDown(): boolean {
    return this.shuttingDown;
  }

  markShuttingDown(): void {
    this.shuttingDown = true;
  }

  /** `app.close()` runs this before any listener or pool closes. */
  onModuleDestroy(): void {
    this.markShuttingDown();
  }
}
