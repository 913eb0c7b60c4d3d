import type { Readable } from 'node:stream';
import { Controller, Get, Logger, Post, Query, Res } from '@nestjs/common';
import {
  ApiOkResponse,
  ApiPayloadTooLargeResponse,
  ApiProduces,
  ApiServiceUnavailableResponse,
  ApiTags,
} from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';
import { endStalledResponse } from '@app/http';
import { Idempotent } from '@app/idempotency';
import { RateLimit } from '@app/throttler';
import { DisconnectSignal } from '@app/worker';
import { LoadstarConfig } from '../config/loadstar-config';
import { Authenticated, CurrentUser } from '../auth/auth.decorators';
import { AuthenticatedUser } from '../auth/authenticated-user';
import { AcceptsCsvStream, CsvUpload, CsvUploadBody } from './csv-upload';
import { ExportPostsQuery, ImportResultDto } from './dto';
import { EXPORT_CONTENT_TYPES, PostsExportService } from './posts-export.service';
import { IMPORT_MAX_BYTES, PostsImportService } from './posts-import.service';

/** Bulk import and export of posts (docs/api.md). */
@ApiTags('posts')
@Controller('posts')
export class PostsBulkController {
  private readonly logger = new Logger(PostsBulkController.name);
  private readonly stallTimeoutMs: number;

  constructor(
    private readonly imports: PostsImportService,
    private readonly exports: PostsExportService,
    config: LoadstarConfig,
  ) {
    this.stallTimeoutMs = config.posts.export.stallTimeoutMs;
  }

  /**
   * Imports posts by the caller from a CSV file whose header row names the columns `title`
   * and `body` (others are ignored). Rows that fail validation are counted and the first 100
   * listed with their line; a malformed file is a 400 naming the line. A file with more than
   * `IMPORT_MAX_ROWS` rows is imported up to that row, then answered with a 413 naming the line;
   * once the caller's `IMPORT_ROW_QUOTA` is used up, a 429 with `Retry-After` (both messages
   * say how many rows went in).
   */
  @Post('import')
  @Authenticated()
  @RateLimit('expensive', { by: ['user', 'address'] })
  // Rows commit in batches as the upload streams in (a 413 or 429 keeps what went in), so
  // the response is stored after them: a crash in between lets a retry import them again.
  @Idempotent({ transaction: false })
  @AcceptsCsvStream('CSV with a header row naming title and body')
  @ApiPayloadTooLargeResponse({
    description: `body over ${IMPORT_MAX_BYTES} bytes, or more rows than IMPORT_MAX_ROWS`,
  })
  @ApiServiceUnavailableResponse({ description: 'the worker pool is saturated' })
  import(
    @CurrentUser() user: AuthenticatedUser,
    @CsvUpload() upload: CsvUploadBody,
    @DisconnectSignal() signal: AbortSignal,
  ): Promise<ImportResultDto> {
    return this.imports.import(user.id, upload.stream, upload.declaredBytes, signal);
  }

  /**
   * Streams every post (or one author's), oldest first, as NDJSON or CSV. In CSV, text cells
   * that a spreadsheet would take for a formula are prefixed with `'`, which the import removes.
   * An export whose client accepts no data for `EXPORT_STALL_TIMEOUT_MS` is ended.
   */
  @Get('export')
  @RateLimit('expensive', { by: ['user', 'address'] })
  @ApiProduces(EXPORT_CONTENT_TYPES.ndjson, EXPORT_CONTENT_TYPES.csv)
  @ApiOkResponse({ description: 'one post per line (NDJSON) or per record (CSV with header)' })
  @ApiServiceUnavailableResponse({
    description:
      'EXPORT_MAX_CONCURRENT exports are running already; Retry-After says when to retry',
  })
  async export(
    @Query() query: ExportPostsQuery,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<Readable> {
    const body = await this.exports.export(query.format, query.authorId);
    endStalledResponse(reply.raw, this.stallTimeoutMs, () =>
      this.logger.warn(`export ended: its client accepted no data for ${this.stallTimeoutMs} ms`),
    );
    void reply
      .type(EXPORT_CONTENT_TYPES[query.format])
      .header('content-disposition', `attachment; filename="posts.${query.format}"`);
    return body;
  }
}
