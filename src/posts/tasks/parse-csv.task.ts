import { isUtf8 } from 'node:buffer';
import { length, maxLength } from 'class-validator';
import { CsvError, parse } from 'csv-parse/sync';
import { unescapeCsvFormula } from '../csv-formula';
import { POST_BODY_MAX, POST_TITLE_MAX } from '../dto/create-post.dto';

const LF = 0x0a;
const CR = 0x0d;
const QUOTE = 0x22;

/** Positions of the imported columns, read from the header row. */
export interface CsvColumns {
  title: number;
  body: number;
  /** Fields every row must have: as many as the header. */
  count: number;
}

export interface CsvChunkInput {
  /** UTF-8 bytes that start at a record boundary: the previous chunk's unconsumed tail first. */
  bytes: Uint8Array;
  /** Nothing follows, so every byte is consumed. */
  last: boolean;
  /** Line number of the first byte, counting from 1. */
  firstLine: number;
  /** `undefined` until the header row has been read. */
  columns?: CsvColumns;
  /** Row errors still to be listed (the response lists the first 100). */
  maxErrors: number;
  /** Valid rows per insert batch. */
  batchRows: number;
  /** Data rows (valid or not) this chunk may still hold; parsing stops at the next one. */
  maxRows: number;
}

/** A problem at a line of the file. */
export interface CsvLineError {
  line: number;
  message: string;
}

/** Valid rows as a JSON array of `[title, body]`, ready to be one INSERT's parameter. */
export interface CsvRowBatch {
  rows: number;
  json: string;
}

export interface ParsedCsvChunk {
  /** Bytes parsed: up to the last complete record; the rest goes into the next chunk. */
  consumed: number;
  /** Line breaks within the consumed bytes. */
  lines: number;
  columns?: CsvColumns;
  batches: CsvRowBatch[];
  /** Rows rejected by validation. */
  failed: number;
  errors: CsvLineError[];
  /** Set when the file itself is malformed; nothing of this chunk is to be imported. */
  fatal?: CsvLineError;
  /**
   * Line of the first row past `maxRows`, when there is one: parsing stopped there, and the
   * batches hold the valid rows before it.
   */
  overLimitLine?: number;
}

const CSV_PROBLEMS: Record<string, string> = {
  CSV_QUOTE_NOT_CLOSED: 'a quoted field is not closed',
  INVALID_OPENING_QUOTE:
    'a quote inside an unquoted field (quote the whole field and double inner quotes)',
  CSV_INVALID_CLOSING_QUOTE: 'characters after the closing quote of a field',
};

/** Stops csv-parse at a bad header row. */
class HeaderError extends Error {
  constructor(readonly problem: CsvLineError) {
    super(problem.message);
  }
}

/** Stops csv-parse at the first row past `maxRows`. */
class RowLimitReached extends Error {
  constructor(readonly line: number) {
    super(`row limit reached at line ${line}`);
  }
}

function countLineBreaks(data: Buffer, from: number, to: number): number {
  let count = 0;
  for (let at = data.indexOf(LF, from); at !== -1 && at < to; at = data.indexOf(LF, at + 1)) {
    count += 1;
  }
  return count;
}

/** Offset just past the last line break outside quotes (RFC 4180 quotes pair up). */
function recordBoundary(data: Buffer): number {
  let quoted = false;
  let boundary = 0;
  for (let at = 0; at < data.length; at += 1) {
    const byte = data[at];
    if (byte === QUOTE) quoted = !quoted;
    else if (byte === LF && !quoted) boundary = at + 1;
  }
  return boundary;
}

/** NUL bytes and invalid UTF-8 mean the body is not CSV text at all. */
function findBinary(data: Buffer, firstLine: number): CsvLineError | undefined {
  const nul = data.indexOf(0);
  if (nul !== -1) {
    return {
      line: firstLine + countLineBreaks(data, 0, nul),
      message: 'binary data (a NUL byte); the body must be UTF-8 CSV text',
    };
  }
  if (isUtf8(data)) return undefined;
  let line = firstLine;
  let start = 0;
  while (start < data.length) {
    const lineBreak = data.indexOf(LF, start);
    const end = lineBreak === -1 ? data.length : lineBreak;
    if (!isUtf8(data.subarray(start, end))) break;
    line += 1;
    start = end + 1;
  }
  return { line, message: 'invalid UTF-8; the body must be UTF-8 CSV text' };
}

function readHeader(record: string[], line: number): CsvColumns | CsvLineError {
  const names = record.map((name) => name.trim().toLowerCase());
  const title = names.indexOf('title');
  const body = names.indexOf('body');
  if (
    title === -1 ||
    body === -1 ||
    names.lastIndexOf('title') !== title ||
    names.lastIndexOf('body') !== body
  ) {
    const found = record.join(',').slice(0, 80);
    return {
      line,
      message: `the header row must name the columns title and body once each, found "${found}"`,
    };
  }
  return { title, body, count: record.length };
}

function rowProblem(
  record: string[],
  columns: CsvColumns,
  title: string,
  body: string,
): string | undefined {
  if (record.length !== columns.count) {
    return `expected ${columns.count} fields as in the header, found ${record.length}`;
  }
  if (!length(title, 1, POST_TITLE_MAX)) {
    return `title must be 1–${POST_TITLE_MAX} characters`;
  }
  if (!maxLength(body, POST_BODY_MAX)) {
    return `body must be at most ${POST_BODY_MAX} characters`;
  }
  return undefined;
}

/**
 * Worker task of the posts import: parses one chunk of the CSV body (csv-parse, strict
 * quoting) up to its last complete record or its `maxRows`-th row, undoes the export's
 * formula escape (`unescapeCsvFormula`), validates each row with the rules of
 * `CreatePostDto`, and returns the valid rows as JSON batches with every problem's line.
 */
export default function parseCsvChunk(input: CsvChunkInput): ParsedCsvChunk {
  const bytes = Buffer.from(input.bytes.buffer, input.bytes.byteOffset, input.bytes.byteLength);
  const end = input.last ? bytes.length : recordBoundary(bytes);
  const data = bytes.subarray(0, end);
  const result: ParsedCsvChunk = {
    consumed: end,
    lines: countLineBreaks(data, 0, end),
    columns: input.columns,
    batches: [],
    failed: 0,
    errors: [],
  };
  const binary = findBinary(data, input.firstLine);
  if (binary) return { ...result, fatal: binary };

  let batch: [string, string][] = [];
  const flush = () => {
    if (batch.length === 0) return;
    result.batches.push({ rows: batch.length, json: JSON.stringify(batch) });
    batch = [];
  };
  let recordEnd = 0;
  let rows = 0;
  let line = input.firstLine;
  // The line where the next record starts: past the previous one and any empty lines.
  const nextRecordLine = (until: number) => {
    while (recordEnd < until && (data[recordEnd] === LF || data[recordEnd] === CR)) {
      if (data[recordEnd] === LF) line += 1;
      recordEnd += 1;
    }
    return line;
  };

  try {
    parse(data, {
      bom: input.columns === undefined,
      record_delimiter: ['\r\n', '\n'],
      relax_column_count: true,
      skip_empty_lines: true,
      on_record: (record: string[], { bytes: end }) => {
        const recordLine = nextRecordLine(end);
        line += countLineBreaks(data, recordEnd, end);
        recordEnd = end;
        if (!result.columns) {
          const header = readHeader(record, recordLine);
          if ('message' in header) throw new HeaderError(header);
          result.columns = header;
          return null;
        }
        if (rows === input.maxRows) throw new RowLimitReached(recordLine);
        rows += 1;
        const title = unescapeCsvFormula(record[result.columns.title] ?? '');
        const body = unescapeCsvFormula(record[result.columns.body] ?? '');
        const problem = rowProblem(record, result.columns, title, body);
        if (problem === undefined) {
          batch.push([title, body]);
          if (batch.length === input.batchRows) flush();
        } else {
          result.failed += 1;
          if (result.errors.length < input.maxErrors) {
            result.errors.push({ line: recordLine, message: problem });
          }
        }
        return null;
      },
    });
  } catch (error) {
    if (error instanceof HeaderError) return { ...result, batches: [], fatal: error.problem };
    if (error instanceof RowLimitReached) {
      flush();
      return { ...result, overLimitLine: error.line };
    }
    if (!(error instanceof CsvError)) throw error;
    const message = CSV_PROBLEMS[error.code] ?? `malformed CSV (${error.code})`;
    return { ...result, batches: [], fatal: { line: nextRecordLine(data.length), message } };
  }
  flush();
  if (input.last && !result.columns) {
    return {
      ...result,
      fatal: {
        line: input.firstLine,
        message: 'the body is empty; it needs the header row title,body',
      },
    };
  }
  return result;
}
