import { Transform } from 'class-transformer';
import { IsIn, IsInt, IsOptional, IsUUID, Max, Min } from 'class-validator';
import { toStrictInteger } from '@app/http';
import { JOB_STATES, type JobState } from '@app/jobs';

/** Most jobs on one page of `GET /api/jobs`. */
export const JOBS_PAGE_MAX = 100;

export class ListJobsQuery {
  /** only jobs in this state */
  @IsOptional()
  @IsIn(JOB_STATES)
  state?: JobState;

  /** 1–100, default 20 */
  @IsOptional()
  @Transform(toStrictInteger)
  @IsInt()
  @Min(1)
  @Max(JOBS_PAGE_MAX)
  limit: number = 20;

  /** `nextCursor` of the previous page */
  @IsOptional()
  @IsUUID()
  cursor?: string;
}
