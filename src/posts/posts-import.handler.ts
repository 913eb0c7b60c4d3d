import { JobContext, JobHandler, JobHandlerInstance } from '@app/jobs';
import type { ImportResultDto } from './dto';
import { PostsImportService } from './posts-import.service';
import { IMPORT_POSTS_JOB, ImportPostsPayload } from './posts.jobs';

/** Runs {@link IMPORT_POSTS_JOB}: one import at a time per process, as it uses the worker pool. */
@JobHandler(IMPORT_POSTS_JOB, { concurrency: 1, maxAttempts: 3, retryDelaySeconds: 1 })
export class ImportPostsHandler implements JobHandlerInstance<ImportPostsPayload, ImportResultDto> {
  constructor(private readonly imports: PostsImportService) {}

  handle(job: JobContext<ImportPostsPayload>): Promise<ImportResultDto> {
    return this.imports.runJob(job);
  }
}
