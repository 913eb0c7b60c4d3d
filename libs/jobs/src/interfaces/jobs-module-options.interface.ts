/** Options of {@link JobsModule}. */
export interface JobsModuleOptions {
  /**
   * Whether this process runs job handlers. An `api` process only enqueues and reads jobs.
   * @default true
   */
  work?: boolean;
  /**
   * How long a handler type waits before asking for jobs again after finding none.
   * @default 1000
   */
  pollIntervalMs?: number;
  /**
   * An active job whose process sent no heartbeat for this long (it crashed, or was killed)
   * goes back to the queue for another attempt. Heartbeats go every third of it.
   * @default 30000
   */
  stallTimeoutMs?: number;
  /**
   * On shutdown, how long active jobs may run to their end before they are aborted and put
   * back in the queue (without using up an attempt).
   * @default 10000
   */
  drainTimeoutMs?: number;
}
