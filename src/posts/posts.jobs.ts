import { defineJob } from '@app/jobs';
import type { ImportResultDto } from './dto';

export interface ImportPostsPayload {
  authorId: number;
}

/** An async CSV import (`POST /api/imports/posts`); the body waits in `import_uploads`. */
export const IMPORT_POSTS_JOB = defineJob<ImportPostsPayload, ImportResultDto>('import-posts');
