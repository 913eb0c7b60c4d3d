import { pipeline, Readable, Transform } from 'node:stream';
import { HttpStatus, Injectable, Logger } from '@nestjs/common';
import { stringify } from 'csv-stringify';
import { RetryLaterException } from '@app/http';
import { LoadstarConfig } from '../config/loadstar-config';
import { escapeCsvFormula } from './csv-formula';
import { ExportFormat, PostDto } from './dto';
import { PostsRepository } from './posts.repository';

/** Columns of a CSV export, in order; `title,body` among them, so it re-imports as is. */
const CSV_COLUMNS: (keyof PostDto)[] = [
  'id',
  'authorId',
  'title',
  'body',
  'version',
  'createdAt',
  'updatedAt',
];
/** An export takes seconds to minutes; a client refused for lack of a connection waits this. */
const BUSY_RETRY_AFTER_S = 5;
/** Characters gathered per write: one socket write per row would cost more than the encoding. */
const WRITE_CHARS = 64 * 1024;

/** Content types of the export formats (docs/api.md). */
export const EXPORT_CONTENT_TYPES: Record<ExportFormat, string> = {
  ndjson: 'application/x-ndjson',
  csv: 'text/csv; charset=utf-8',
};

/** Encodes each object with `encode` and writes the text in pieces of about {@link WRITE_CHARS}. */
function batchingEncoder<T>(encode: (item: T) => string): Transform {
  let pending = '';
  return new Transform({
    writableObjectMode: true,
    transform(item: T, _encoding, done) {
      pending += encode(item);
      if (pending.length >= WRITE_CHARS) {
        this.push(pending);
        pending = '';
      }
      done();
    },
    flush(done) {
      if (pending !== '') this.push(pending);
      done();
    },
  });
}

const encodeNdjsonLine = (post: PostDto) => `${JSON.stringify(post)}\n`;
const passLine = (line: string) => line;

/**
 * `GET /api/posts/export`: posts read through a server-side cursor and encoded as they come,
 * with back-pressure end to end — a slow client pauses the cursor instead of filling memory,
 * and a client that goes away destroys the pipeline, which closes the cursor and hands the
 * connection back. Each export holds a connection of the export pool while it runs, so at most
 * `EXPORT_MAX_CONCURRENT` run at once; the controller ends those whose client stops reading.
 */
@Injectable()
export class PostsExportService {
  private readonly logger = new Logger(PostsExportService.name);
  private readonly maxConcurrent: number;

  constructor(
    private readonly posts: PostsRepository,
    config: LoadstarConfig,
  ) {
    this.maxConcurrent = config.posts.export.maxConcurrent;
  }

  /**
   * The encoded export, to be sent as the response body.
   *
   * @throws RetryLaterException 503 when every connection of the export pool is in use
   */
  async export(format: ExportFormat, authorId: number | undefined): Promise<Readable> {
    const rows = await this.posts.streamAll(authorId);
    if (rows === undefined) {
      throw new RetryLaterException(
        HttpStatus.SERVICE_UNAVAILABLE,
        `as many exports are running as this server streams at once (${this.maxConcurrent}); retry shortly`,
        BUSY_RETRY_AFTER_S,
      );
    }
    const done = (error: NodeJS.ErrnoException | null) => {
      if (error && error.code !== 'ERR_STREAM_PREMATURE_CLOSE') {
        this.logger.warn({ err: error }, 'posts export failed');
      }
    };
    if (format === 'ndjson') return pipeline(rows, batchingEncoder(encodeNdjsonLine), done);
    const csv = stringify({
      header: true,
      columns: CSV_COLUMNS,
      // csv-stringify quotes only the record delimiter itself; a lone CR or LF must be quoted too
      quoted_match: /[\r\n]/,
      cast: { string: escapeCsvFormula },
      readableObjectMode: true,
    });
    return pipeline(rows, csv, batchingEncoder(passLine), done);
  }
}
