import type { Readable } from 'node:stream';
import { Controller, Get, Post, Query, Res } from '@nestjs/common';
import {
  ApiOkResponse,
  ApiPayloadTooLargeResponse,
  ApiProduces,
  ApiServiceUnavailableResponse,
  ApiTags,
} from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';
import { RateLimit } from '@app/throttler';
import { DisconnectSignal } from '@app/worker';
import { Authenticated, CurrentUser } from '../auth/auth.decorators';
import { AuthenticatedUser } from '../auth/authenticated-user';
import { AcceptsCsvStream, CsvUpload, CsvUploadBody } from './csv-upload';
import { ExportPostsQuery, ImportResultDto } from './dto';
import { EXPORT_CONTENT_TYPES, PostsExportService } from './posts-export.service';
import { IMPORT_MAX_BYTES, PostsImportService } from './posts-import.service';

/** Bulk import and export of posts (contract §2). */
@ApiTags('posts')
@Controller('posts')
export class PostsBulkController {
  constructor(
    private readonly imports: PostsImportService,
    private readonly exports: PostsExportService,
  ) {}

  /**
   * Imports posts by the caller from a CSV file whose header row names the columns `title`
   * and `body` (others are ignored). Rows that fail validation are counted and the first 100
   * listed with their line; a malformed file is a 400 naming the line.
   */
  @Post('import')
  @Authenticated()
  @RateLimit('expensive', { by: ['user', 'address'] })
  @AcceptsCsvStream('CSV with a header row naming title and body')
  @ApiPayloadTooLargeResponse({ description: `body over ${IMPORT_MAX_BYTES} bytes` })
  @ApiServiceUnavailableResponse({ description: 'the worker pool is saturated' })
  import(
    @CurrentUser() user: AuthenticatedUser,
    @CsvUpload() upload: CsvUploadBody,
    @DisconnectSignal() signal: AbortSignal,
  ): Promise<ImportResultDto> {
    return this.imports.import(user.id, upload.stream, upload.declaredBytes, signal);
  }

  /** Streams every post (or one author's), oldest first, as NDJSON or CSV. */
  @Get('export')
  @RateLimit('expensive', { by: ['user', 'address'] })
  @ApiProduces(EXPORT_CONTENT_TYPES.ndjson, EXPORT_CONTENT_TYPES.csv)
  @ApiOkResponse({ description: 'one post per line (NDJSON) or per record (CSV with header)' })
  async export(
    @Query() query: ExportPostsQuery,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<Readable> {
    const body = await this.exports.export(query.format, query.authorId);
    void reply
      .type(EXPORT_CONTENT_TYPES[query.format])
      .header('content-disposition', `attachment; filename="posts.${query.format}"`);
    return body;
  }
}
