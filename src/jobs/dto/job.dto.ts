import { ApiProperty } from '@nestjs/swagger';
import { JOB_STATES, type JobState } from '@app/jobs';

export class JobProgressDto {
  done!: number;
  /** `null` while unknown */
  total!: number | null;
}

/** A background job, as its owner sees it. */
export class JobDto {
  id!: string;
  /** e.g. `import-posts` */
  type!: string;
  @ApiProperty({ enum: JOB_STATES })
  state!: JobState;
  progress!: JobProgressDto;
  /** runs started so far (0 while it waits for its first) */
  attempts!: number;
  /** what the job gave back once `completed` (an import: `{imported, failed, errors}`) */
  result!: unknown;
  /** why the last attempt failed (`failed`, or `queued` for a retry) */
  error!: string | null;
  createdAt!: Date;
  startedAt!: Date | null;
  finishedAt!: Date | null;
}

export class JobPageDto {
  items!: JobDto[];
  /** pass as `cursor` for the next page; `null` on the last page */
  nextCursor!: string | null;
}
