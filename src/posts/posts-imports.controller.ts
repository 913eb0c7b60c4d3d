import { Controller, HttpCode, Post, Res } from '@nestjs/common';
import {
  ApiAcceptedResponse,
  ApiPayloadTooLargeResponse,
  ApiTags,
  ApiTooManyRequestsResponse,
} from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';
import { RateLimit } from '@app/throttler';
import { Authenticated, CurrentUser } from '../auth/auth.decorators';
import { AuthenticatedUser } from '../auth/authenticated-user';
import { JobDto } from '../jobs/dto';
import { AcceptsCsvStream, CsvUpload, CsvUploadBody } from './csv-upload';
import { IMPORT_MAX_BYTES, PostsImportService } from './posts-import.service';

/** Imports that run as background jobs. */
@ApiTags('posts')
@Controller('imports')
export class PostsImportsController {
  constructor(private readonly imports: PostsImportService) {}

  /**
   * Stores the CSV (as for `POST /api/posts/import`) and queues its import; follow the
   * `Location` to see the job's state, progress and, once completed, the same result the
   * synchronous import answers. A failed job's `error` is that import's error message.
   */
  @Post('posts')
  @HttpCode(202)
  @Authenticated()
  @RateLimit('expensive', { by: ['user', 'address'] })
  @AcceptsCsvStream('CSV with a header row naming title and body')
  @ApiAcceptedResponse({ type: JobDto, description: 'queued; `Location: /api/jobs/{id}`' })
  @ApiPayloadTooLargeResponse({ description: `body over ${IMPORT_MAX_BYTES} bytes` })
  @ApiTooManyRequestsResponse({ description: 'the caller’s IMPORT_ROW_QUOTA is used up' })
  async import(
    @CurrentUser() user: AuthenticatedUser,
    @CsvUpload() upload: CsvUploadBody,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<JobDto> {
    const job = await this.imports.enqueue(user.id, upload.stream, upload.declaredBytes);
    void reply.header('location', `/api/jobs/${job.id}`);
    return job;
  }
}
