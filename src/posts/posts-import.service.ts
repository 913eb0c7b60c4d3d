import type { Readable } from 'node:stream';
import {
  BadRequestException,
  HttpStatus,
  Injectable,
  PayloadTooLargeException,
} from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import type { LoadstarConfig, PostsImportConfig } from '@app/config';
import { RetryLaterException } from '@app/http';
import { ClientDisconnectedException, WorkerService } from '@app/worker';
import { ImportResultDto } from './dto';
import { ImportRowQuota, PostsRepository } from './posts.repository';
import { PARSE_CSV_TASK } from './posts.tasks';
import type { CsvColumns, CsvLineError, CsvRowBatch } from './tasks/parse-csv.task';

/** Largest accepted import body (contract §2): 50 MiB. */
export const IMPORT_MAX_BYTES = 50 * 1024 * 1024;
/** Bytes per parse task: large enough to amortise a task, small enough to keep memory flat. */
const CHUNK_BYTES = 1024 * 1024;
/**
 * No valid record comes near this (a title and body of 4-byte characters, quoted), so an
 * unconsumed tail this long means a quote that is never closed.
 */
const MAX_RECORD_BYTES = 2 * 1024 * 1024;
/** Rows per INSERT statement. */
const BATCH_ROWS = 5_000;
/** Rejected rows listed in the response. */
const LISTED_ERRORS = 100;

function tooLarge(): PayloadTooLargeException {
  return new PayloadTooLargeException(`an import body may have at most ${IMPORT_MAX_BYTES} bytes`);
}

/** `429` once the caller's `IMPORT_ROW_QUOTA` is used up; `imported` rows of this file went in. */
function quotaUsedUp(quota: ImportRowQuota, resetsInMs: number, imported: number) {
  const retryAfterS = Math.max(1, Math.ceil(resetsInMs / 1_000));
  const before =
    imported > 0
      ? `the first ${imported} valid rows of this file were imported, the rest was not`
      : 'nothing of this file was imported';
  return new RetryLaterException(
    HttpStatus.TOO_MANY_REQUESTS,
    `import quota of ${quota.rows} rows per ${quota.windowMs / 1_000} s used up: ${before}; ` +
      `retry in ${retryAfterS} s`,
    retryAfterS,
  );
}

/**
 * One import's state on the main thread, which only moves bytes: the request body is
 * gathered into chunks of about {@link CHUNK_BYTES}, each parsed in the pool while the
 * previous chunk's rows are inserted, so at most two chunks are in memory at a time.
 */
class CsvImport {
  private pieces: Buffer[] = [];
  private pendingBytes = 0;
  private receivedBytes = 0;
  private tail: Buffer = Buffer.alloc(0);
  private line = 1;
  private columns: CsvColumns | undefined;
  private imported = 0;
  private failed = 0;
  private readonly errors: CsvLineError[] = [];
  private rows = 0;
  private inserting: Promise<void> = Promise.resolve();

  constructor(
    private readonly authorId: number,
    private readonly signal: AbortSignal,
    private readonly limits: PostsImportConfig,
    private readonly worker: WorkerService,
    private readonly posts: PostsRepository,
  ) {}

  async add(piece: Buffer): Promise<void> {
    this.receivedBytes += piece.length;
    if (this.receivedBytes > IMPORT_MAX_BYTES) throw tooLarge();
    this.pieces.push(piece);
    this.pendingBytes += piece.length;
    if (this.pendingBytes >= CHUNK_BYTES) await this.parse(false);
  }

  async end(): Promise<ImportResultDto> {
    await this.parse(true);
    await this.inserting;
    return { imported: this.imported, failed: this.failed, errors: this.errors };
  }

  /** Waits for the insert in flight, whatever its outcome, so nothing runs past the request. */
  settle(): Promise<void> {
    return this.inserting.catch(() => undefined);
  }

  private async parse(last: boolean): Promise<void> {
    const bytes = Buffer.concat([this.tail, ...this.pieces], this.tail.length + this.pendingBytes);
    this.pieces = [];
    this.pendingBytes = 0;
    const chunk = await this.worker.run(
      PARSE_CSV_TASK,
      {
        bytes,
        last,
        firstLine: this.line,
        columns: this.columns,
        maxErrors: LISTED_ERRORS - this.errors.length,
        batchRows: BATCH_ROWS,
        maxRows: this.limits.maxRows - this.rows,
      },
      { signal: this.signal },
    );
    if (chunk.fatal) throw await this.malformed(chunk.fatal);
    this.rows += chunk.failed;
    for (const batch of chunk.batches) this.rows += batch.rows;
    this.tail = bytes.subarray(chunk.consumed);
    this.line += chunk.lines;
    this.columns = chunk.columns;
    this.failed += chunk.failed;
    this.errors.push(...chunk.errors);
    if (this.tail.length > MAX_RECORD_BYTES) {
      throw await this.malformed({
        line: this.line,
        message: `a record longer than ${MAX_RECORD_BYTES} bytes; is a quote not closed?`,
      });
    }
    // One chunk's rows go in while the next chunk is parsed, in file order.
    await this.inserting;
    this.inserting = this.insert(chunk.batches);
    this.inserting.catch(() => undefined); // observed by end() or settle()
    if (chunk.overLimitLine !== undefined) throw await this.overLimit(chunk.overLimitLine);
  }

  private async insert(batches: CsvRowBatch[]): Promise<void> {
    const quota = this.limits.rowQuota;
    for (const batch of batches) {
      const { inserted, resetsInMs } = await this.posts.insertBatchWithinQuota(
        this.authorId,
        batch.json,
        batch.rows,
        quota,
      );
      this.imported += inserted;
      if (inserted < batch.rows) throw quotaUsedUp(quota, resetsInMs, this.imported);
    }
  }

  /** `413` for a file with more than `IMPORT_MAX_ROWS` rows, once the rows before went in. */
  private async overLimit(line: number): Promise<PayloadTooLargeException> {
    await this.inserting;
    const { maxRows } = this.limits;
    return new PayloadTooLargeException(
      `an import may hold at most ${maxRows} rows; line ${line} starts row ${maxRows + 1}, ` +
        `so nothing from there on was imported. The ${maxRows} rows before it were: ` +
        `${this.imported} imported, ${this.failed} rejected`,
    );
  }

  private async malformed({ line, message }: CsvLineError): Promise<BadRequestException> {
    await this.settle();
    const before = this.imported > 0 ? `; the ${this.imported} rows before it were imported` : '';
    return new BadRequestException(`line ${line}: ${message}${before}`);
  }
}

/**
 * `POST /api/posts/import`: a CSV body (`title,body` header) streamed through the worker pool
 * in chunks and inserted in batches of one INSERT statement each, so a batch that fails
 * leaves none of its rows behind. Bounded per request (`IMPORT_MAX_ROWS` rows, 413 past it)
 * and per user (`IMPORT_ROW_QUOTA`, 429 once used up, counted in PostgreSQL with each batch).
 */
@Injectable()
export class PostsImportService {
  private readonly limits: PostsImportConfig;

  constructor(
    private readonly posts: PostsRepository,
    private readonly worker: WorkerService,
    config: ConfigService<LoadstarConfig, true>,
  ) {
    this.limits = config.get('posts', { infer: true }).import;
  }

  /**
   * @param declaredBytes the request's `Content-Length`, checked before reading anything
   * @param signal aborts the import when the client goes away
   */
  async import(
    authorId: number,
    body: Readable,
    declaredBytes: number | undefined,
    signal: AbortSignal,
  ): Promise<ImportResultDto> {
    if (declaredBytes !== undefined && declaredBytes > IMPORT_MAX_BYTES) throw tooLarge();
    const run = new CsvImport(authorId, signal, this.limits, this.worker, this.posts);
    try {
      const quota = await this.posts.importQuotaState(authorId, this.limits.rowQuota);
      if (quota.left === 0) throw quotaUsedUp(this.limits.rowQuota, quota.resetsInMs, 0);
      // Not destroyed on an early exit: the client must still be able to read the answer.
      for await (const piece of body.iterator({ destroyOnReturn: false })) {
        await run.add(piece as Buffer);
      }
      return await run.end();
    } catch (error) {
      if (signal.aborted || (body.errored !== null && body.errored === error)) {
        throw new ClientDisconnectedException();
      }
      throw error;
    } finally {
      await run.settle();
      // Reads and drops what the client still sends, so it gets to see the error response.
      if (!body.readableEnded) body.resume();
    }
  }
}
