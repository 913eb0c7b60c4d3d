import {
  Controller,
  Delete,
  Get,
  NotFoundException,
  Param,
  ParseUUIDPipe,
  Query,
} from '@nestjs/common';
import { ApiNotFoundResponse, ApiTags } from '@nestjs/swagger';
import { JobsService, JobView } from '@app/jobs';
import { Authenticated, CurrentUser } from '../auth/auth.decorators';
import { AuthenticatedUser } from '../auth/authenticated-user';
import { JobDto, JobPageDto, ListJobsQuery } from './dto';

/** The caller's background jobs; another user's job is answered as one that does not exist. */
@ApiTags('jobs')
@Controller('jobs')
@Authenticated()
export class JobsController {
  constructor(private readonly jobs: JobsService) {}

  /** The caller's jobs, newest first (keyset pagination). */
  @Get()
  async list(
    @CurrentUser() user: AuthenticatedUser,
    @Query() query: ListJobsQuery,
  ): Promise<JobPageDto> {
    const rows = await this.jobs.page(user.id, {
      state: query.state,
      before: query.cursor,
      limit: query.limit,
    });
    const items = rows.slice(0, query.limit);
    return { items, nextCursor: rows.length > query.limit ? items[items.length - 1].id : null };
  }

  @Get(':id')
  @ApiNotFoundResponse({ description: 'no job with this id belongs to the caller' })
  get(
    @CurrentUser() user: AuthenticatedUser,
    @Param('id', new ParseUUIDPipe()) id: string,
  ): Promise<JobDto> {
    return this.owned(user, id);
  }

  /**
   * Cancels a queued or active job; answers the job as it is then (an active one stops
   * within about a second, its progress says how far it got). A job that has ended stays as
   * it is.
   */
  @Delete(':id')
  @ApiNotFoundResponse({ description: 'no job with this id belongs to the caller' })
  async cancel(
    @CurrentUser() user: AuthenticatedUser,
    @Param('id', new ParseUUIDPipe()) id: string,
  ): Promise<JobDto> {
    const job = await this.owned(user, id);
    await this.jobs.cancel(job);
    return this.owned(user, id);
  }

  private async owned(user: AuthenticatedUser, id: string): Promise<JobView> {
    const job = await this.jobs.find(id, user.id);
    if (!job) throw new NotFoundException('no such job');
    return job;
  }
}
