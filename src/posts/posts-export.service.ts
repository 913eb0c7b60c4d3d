import { pipeline, Readable, Transform } from 'node:stream';
import { Injectable, Logger } from '@nestjs/common';
import { stringify } from 'csv-stringify';
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
/** Characters gathered per write: one socket write per row would cost more than the encoding. */
const WRITE_CHARS = 64 * 1024;

/** Content types of the export formats (contract §2). */
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
 * connection back.
 */
@Injectable()
export class PostsExportService {
  private readonly logger = new Logger(PostsExportService.name);

  constructor(private readonly posts: PostsRepository) {}

  /** The encoded export, to be sent as the response body. */
  async export(format: ExportFormat, authorId: number | undefined): Promise<Readable> {
    const rows = await this.posts.streamAll(authorId);
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
      readableObjectMode: true,
    });
    return pipeline(rows, csv, batchingEncoder(passLine), done);
  }
}
