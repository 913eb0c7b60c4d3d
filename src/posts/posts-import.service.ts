import { randomUUID } from 'node:crypto';
import type { Readable } from 'node:stream';
import {
  BadRequestException,
  HttpException,
  HttpStatus,
  Injectable,
  Logger,
  OnApplicationBootstrap,
  OnApplicationShutdown,
  PayloadTooLargeException,
} from '@nestjs/common';
import { DatabaseService } from '@app/database';
import { RetryLaterException } from '@app/http';
import { JobContext, JobFailure, JobsService, JobView } from '@app/jobs';
import { ClientDisconnectedException, WorkerService } from '@app/worker';
import { LoadstarConfig, PostsImportConfig } from '../config/loadstar-config';
import { ImportResultDto } from './dto';
import { ImportBatchOutcome, ImportRowQuota, PostsRepository } from './posts.repository';
import { IMPORT_POSTS_JOB, ImportPostsPayload } from './posts.jobs';
import { PARSE_CSV_TASK } from './posts.tasks';
import type { CsvColumns, CsvLineError, CsvRowBatch } from './tasks/parse-csv.task';

/** Largest accepted import body (docs/api.md): 50 MiB. */
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
/** Stored bodies one sweep looks at; a longer backlog is taken by the next sweeps. */
const SWEPT_UPLOADS = 1_000;

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
 * Where one import's batches go: `rowsBefore` valid rows of the file came before the batch,
 * `consumedBytes` of the file are parsed once it is in.
 */
export type ImportSink = (
  batch: CsvRowBatch,
  rowsBefore: number,
  consumedBytes: number,
) => Promise<ImportBatchOutcome>;

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
  private validRows = 0;
  private inserting: Promise<void> = Promise.resolve();

  constructor(
    private readonly signal: AbortSignal,
    private readonly limits: PostsImportConfig,
    private readonly worker: WorkerService,
    private readonly sink: ImportSink,
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
    this.inserting = this.insert(chunk.batches, this.receivedBytes - this.tail.length);
    this.inserting.catch(() => undefined); // observed by end() or settle()
    if (chunk.overLimitLine !== undefined) throw await this.overLimit(chunk.overLimitLine);
  }

  private async insert(batches: CsvRowBatch[], consumedBytes: number): Promise<void> {
    for (const batch of batches) {
      this.signal.throwIfAborted();
      const rowsBefore = this.validRows;
      this.validRows += batch.rows;
      const { inserted, resetsInMs } = await this.sink(batch, rowsBefore, consumedBytes);
      this.imported += inserted;
      if (inserted < batch.rows) throw quotaUsedUp(this.limits.rowQuota, resetsInMs, this.imported);
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
 * CSV imports of posts. `POST /api/posts/import` streams a body through the worker pool in
 * chunks, inserted in batches of one INSERT statement each, so a batch that fails leaves none
 * of its rows behind. `POST /api/imports/posts` stores the body with a job that does the same
 * in a worker process. Bounded per request (`IMPORT_MAX_ROWS` rows, 413 past it) and per user
 * (`IMPORT_ROW_QUOTA`, 429 once used up, counted in PostgreSQL with each batch).
 */
@Injectable()
export class PostsImportService implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger(PostsImportService.name);
  private readonly limits: PostsImportConfig;
  private sweeper: NodeJS.Timeout | undefined;
  private sweeping = false;

  constructor(
    private readonly posts: PostsRepository,
    private readonly worker: WorkerService,
    private readonly database: DatabaseService,
    private readonly jobs: JobsService,
    config: LoadstarConfig,
  ) {
    this.limits = config.posts.import;
  }

  onApplicationBootstrap(): void {
    if (!this.jobs.works) return;
    this.sweeper = setInterval(() => void this.sweepUploads(), this.limits.uploadsSweepMs);
    this.sweeper.unref();
  }

  onApplicationShutdown(): void {
    clearInterval(this.sweeper);
  }

  /**
   * Deletes the stored bodies of imports whose job has ended: a failed or cancelled import
   * never runs again, and a completed one is done with its body. Only after the job's end is
   * recorded: a process that dies between its last batch and the job's completion leaves a
   * retry that must still find the body.
   */
  private async sweepUploads(): Promise<void> {
    if (this.sweeping) return;
    this.sweeping = true;
    try {
      const held = await this.posts.uploadJobIds(SWEPT_UPLOADS);
      const ended = held.length > 0 ? await this.jobs.ended(held) : [];
      if (ended.length > 0) await this.posts.deleteUploads(ended);
    } catch (error) {
      this.logger.warn(`import uploads not swept: ${(error as Error).message}`);
    } finally {
      this.sweeping = false;
    }
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
    const quota = this.limits.rowQuota;
    const run = new CsvImport(signal, this.limits, this.worker, (batch) =>
      this.posts.insertBatchWithinQuota(authorId, batch.json, batch.rows, quota),
    );
    try {
      await this.checkQuota(authorId);
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
      drain(body);
    }
  }

  /**
   * Reads the whole body (within {@link IMPORT_MAX_BYTES}) and stores it with a queued
   * {@link IMPORT_POSTS_JOB}, in one transaction. The caller's quota must not be used up yet.
   */
  async enqueue(
    authorId: number,
    body: Readable,
    declaredBytes: number | undefined,
  ): Promise<JobView> {
    if (declaredBytes !== undefined && declaredBytes > IMPORT_MAX_BYTES) throw tooLarge();
    const pieces: Buffer[] = [];
    let size = 0;
    try {
      await this.checkQuota(authorId);
      for await (const piece of body.iterator({ destroyOnReturn: false })) {
        size += (piece as Buffer).length;
        if (size > IMPORT_MAX_BYTES) throw tooLarge();
        pieces.push(piece as Buffer);
      }
    } finally {
      drain(body);
    }
    const id = randomUUID();
    // read inside the transaction: once it commits, a worker may take the job at once
    return this.database.transaction(async (manager) => {
      await this.jobs.enqueue(IMPORT_POSTS_JOB, { authorId }, { id, ownerId: authorId }, manager);
      await this.posts.storeUpload(id, Buffer.concat(pieces, size), manager);
      return (await this.jobs.find(id, authorId, manager))!;
    });
  }

  /**
   * One attempt at an async import. Each batch commits with the job's progress and with its
   * rows' (job, row number); a retry skips the batches an earlier attempt committed, so every
   * row of the file goes in exactly once. A failure no retry can fix (bad CSV, row cap, quota)
   * fails the job at once, with the message the synchronous import would have answered.
   */
  async runJob(job: JobContext<ImportPostsPayload>): Promise<ImportResultDto> {
    const body = await this.posts.upload(job.id);
    if (body === undefined) throw new JobFailure('the CSV body of this import is gone');
    const committedRows = await this.posts.importedRows(job.id);
    const { authorId } = job.payload;
    const run = new CsvImport(
      job.signal,
      this.limits,
      this.worker,
      (batch, rowsBefore, consumed) =>
        rowsBefore + batch.rows <= committedRows
          ? Promise.resolve({ inserted: batch.rows, resetsInMs: 0 })
          : this.posts.insertBatchWithinQuota(
              authorId,
              batch.json,
              batch.rows,
              this.limits.rowQuota,
              {
                jobId: job.id,
                rowsBefore,
                alsoCommit: (manager) => job.reportProgress(consumed, body.length, manager),
              },
            ),
    );
    try {
      for (let offset = 0; offset < body.length; offset += CHUNK_BYTES) {
        await run.add(body.subarray(offset, offset + CHUNK_BYTES));
      }
      const result = await run.end();
      await job.reportProgress(body.length, body.length);
      return result;
    } catch (error) {
      if (error instanceof HttpException && error.getStatus() < 500) {
        throw new JobFailure(error.message);
      }
      throw error;
    } finally {
      await run.settle();
    }
  }

  private async checkQuota(authorId: number): Promise<void> {
    const state = await this.posts.importQuotaState(authorId, this.limits.rowQuota);
    if (state.left === 0) throw quotaUsedUp(this.limits.rowQuota, state.resetsInMs, 0);
  }
}

/** Reads and drops what the client still sends, so it gets to see the error response. */
function drain(body: Readable): void {
  if (!body.readableEnded) body.resume();
}
