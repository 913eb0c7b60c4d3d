/** A job's state as the API shows it. */
export type JobState = 'queued' | 'active' | 'completed' | 'failed' | 'cancelled';

export const JOB_STATES: readonly JobState[] = [
  'queued',
  'active',
  'completed',
  'failed',
  'cancelled',
];

/** A job as stored: the queue's row joined with loadstar's record of it. */
export interface JobView {
  id: string;
  type: string;
  state: JobState;
  progress: { done: number; total: number | null };
  attempts: number;
  result: unknown;
  error: string | null;
  createdAt: Date;
  startedAt: Date | null;
  finishedAt: Date | null;
}

/** Options of `JobsService.enqueue`. */
export interface EnqueueOptions {
  /** Who may see and cancel the job through the API. */
  ownerId?: number;
  /**
   * The enqueuing request's id, logged with every line about the job.
   * @default the id of the request being served
   */
  requestId?: string;
  /** Id to give the job (a UUID), when data written before enqueueing must refer to it. */
  id?: string;
}
