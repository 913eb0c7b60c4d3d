/**
 * Thrown by a handler for a failure that another attempt cannot fix (bad input, a quota used
 * up): the job becomes `failed` at once with this message, whatever attempts are left.
 */
export class JobFailure extends Error {
  override readonly name = 'JobFailure';
}

/** Why a job's signal aborts when its process shuts down before the job ends. */
export class JobInterruptedError extends Error {
  override readonly name = 'JobInterruptedError';
  constructor() {
    super('the process is shutting down; the job goes back to the queue');
  }
}

/** Why a job's signal aborts when the job is cancelled (or taken back after a stall). */
export class JobCancelledError extends Error {
  override readonly name = 'JobCancelledError';
  constructor() {
    super('the job was cancelled');
  }
}
