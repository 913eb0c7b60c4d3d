import fc from 'fast-check';
import { stringify } from 'csv-stringify/sync';
import parseCsvChunk, { CsvChunkInput, CsvColumns, CsvLineError } from './parse-csv.task';

const BASE: Omit<CsvChunkInput, 'bytes'> = {
  last: true,
  firstLine: 1,
  maxErrors: 100,
  batchRows: 1_000,
  maxRows: 1_000,
};

function parseAll(text: string | Buffer, options: Partial<CsvChunkInput> = {}) {
  return parseCsvChunk({ ...BASE, bytes: Buffer.from(text), ...options });
}

const rowsOf = (result: ReturnType<typeof parseCsvChunk>) =>
  result.batches.flatMap((batch) => JSON.parse(batch.json) as [string, string][]);

/** What the import does on the main thread: feeds pieces, carrying unconsumed bytes over. */
function parseInPieces(bytes: Buffer, cuts: number[]) {
  const rows: [string, string][] = [];
  const errors: CsvLineError[] = [];
  let tail = Buffer.alloc(0);
  let firstLine = 1;
  let columns: CsvColumns | undefined;
  const edges = [...new Set(cuts)].sort((a, b) => a - b);
  let start = 0;
  for (const [index, end] of [...edges, bytes.length].entries()) {
    const chunk = Buffer.concat([tail, bytes.subarray(start, end)]);
    start = end;
    const last = index === edges.length;
    const result = parseCsvChunk({ ...BASE, bytes: chunk, last, firstLine, columns });
    if (result.fatal) return { fatal: result.fatal };
    rows.push(...rowsOf(result));
    errors.push(...result.errors);
    tail = chunk.subarray(result.consumed);
    firstLine += result.lines;
    columns = result.columns;
  }
  return { rows, errors };
}

describe('parseCsvChunk', () => {
  describe('#rows', () => {
    it('reads quoted fields with commas, quotes, line breaks and non-ASCII text', () => {
      const text =
        '\ufefftitle,body\r\nplain,text\r\n"a, b","say ""hi"""\r\n"multi\r\nline",x\n' +
        'ünïcødé 🚀,"é\n\n"\n';
      const result = parseAll(text);
      expect(result.fatal).toBeUndefined();
      expect(rowsOf(result)).toEqual([
        ['plain', 'text'],
        ['a, b', 'say "hi"'],
        ['multi\r\nline', 'x'],
        ['ünïcødé 🚀', 'é\n\n'],
      ]);
      expect(result).toMatchObject({ failed: 0, errors: [], consumed: Buffer.byteLength(text) });
    });

    it('takes title and body wherever the header puts them and ignores other columns', () => {
      const result = parseAll('id,Body, TITLE ,version\n1,the body,the title,3\n');
      expect(rowsOf(result)).toEqual([['the title', 'the body']]);
      expect(result.columns).toEqual({ title: 2, body: 1, count: 4 });
    });

    it('splits valid rows into batches of batchRows', () => {
      const text = 'title,body\n' + Array.from({ length: 5 }, (_, i) => `t${i},b${i}\n`).join('');
      const result = parseAll(text, { batchRows: 2 });
      expect(result.batches.map((batch) => batch.rows)).toEqual([2, 2, 1]);
      expect(rowsOf(result)).toHaveLength(5);
    });
  });

  describe('#validation', () => {
    it('lists rejected rows with the line they start on, by the rules of CreatePostDto', () => {
      const text = [
        'title,body',
        'ok,fine',
        ',empty title',
        '"two',
        'lines",ok',
        '',
        `${'t'.repeat(201)},too long a title`,
        `${'t'.repeat(200)},${'b'.repeat(100_000)}`,
        `t,${'b'.repeat(100_001)}`,
        'one field',
        'a,b,c',
        `${'🚀'.repeat(200)},astral characters count once`,
      ].join('\n');
      const result = parseAll(text);
      expect(rowsOf(result).map(([title]) => [...title].slice(0, 3).join(''))).toEqual([
        'ok',
        'two',
        'ttt',
        '🚀🚀🚀',
      ]);
      expect(result.failed).toBe(5);
      expect(result.errors).toEqual([
        { line: 3, message: 'title must be 1–200 characters' },
        { line: 7, message: 'title must be 1–200 characters' },
        { line: 9, message: 'body must be at most 100000 characters' },
        { line: 10, message: 'expected 2 fields as in the header, found 1' },
        { line: 11, message: 'expected 2 fields as in the header, found 3' },
      ]);
    });

    it('counts every rejected row but lists at most maxErrors', () => {
      const text = 'title,body\n' + ',x\n'.repeat(10);
      const result = parseAll(text, { maxErrors: 3 });
      expect(result.failed).toBe(10);
      expect(result.errors.map((error) => error.line)).toEqual([2, 3, 4]);
    });
  });

  describe('#row limit', () => {
    const text = 'title,body\n' + ['a,1', ',rejected', 'b,2', 'c,3', 'd,4'].join('\n') + '\n';

    it('stops at the first row past maxRows, valid or not, keeping the rows before it', () => {
      const result = parseAll(text, { maxRows: 3 });
      expect(rowsOf(result)).toEqual([
        ['a', '1'],
        ['b', '2'],
      ]);
      expect(result).toMatchObject({ failed: 1, overLimitLine: 5 });
      expect(result.fatal).toBeUndefined();
    });

    it('counts from the rows still allowed in later chunks', () => {
      const columns = { title: 0, body: 1, count: 2 };
      const result = parseAll('e,5\nf,6\n', { firstLine: 41, columns, maxRows: 1 });
      expect(rowsOf(result)).toEqual([['e', '5']]);
      expect(result.overLimitLine).toBe(42);
    });

    it('says nothing when the rows fit exactly', () => {
      expect(parseAll(text, { maxRows: 5 }).overLimitLine).toBeUndefined();
    });
  });

  describe('#formulas', () => {
    it('removes the quote the export puts before formula characters, then validates', () => {
      const title200 = `'=${'x'.repeat(199)}`;
      const text = stringify([
        ['title', 'body'],
        [`'=HYPERLINK("https://evil.example","x")`, "''quoted"],
        ["'tis", `'\tindented`],
        [title200, "'@"],
      ]);
      const result = parseAll(text);
      expect(result.errors).toEqual([]);
      expect(rowsOf(result)).toEqual([
        ['=HYPERLINK("https://evil.example","x")', "'quoted"],
        ["'tis", '\tindented'],
        [title200.slice(1), '@'],
      ]);
    });
  });

  describe('#malformed', () => {
    it.each([
      ['a wrong header', 'name,text\na,b\n', 1, /header row must name the columns title and body/],
      ['a duplicated column', 'title,body,title\na,b,c\n', 1, /once each/],
      ['an empty body', '', 1, /empty/],
      ['only blank lines', '\n\r\n\n', 1, /empty/],
      ['an unclosed quote', 'title,body\na,b\n\nc,"never closed\nd,e\n', 4, /not closed/],
      ['a quote in an unquoted field', 'title,body\na,b\nc,d"e\n', 3, /quote inside/],
      ['text after a closing quote', 'title,body\n"a"x,b\n', 2, /after the closing quote/],
    ])('rejects %s with its line', (_, text, line, message) => {
      const { fatal } = parseAll(text);
      expect(fatal).toEqual({ line, message: expect.stringMatching(message) });
    });

    it('rejects binary data (a NUL byte) with its line', () => {
      const bytes = Buffer.concat([Buffer.from('title,body\na,b\n\n'), Buffer.from([1, 0, 2])]);
      expect(parseAll(bytes).fatal).toEqual({ line: 4, message: expect.stringMatching(/NUL/) });
    });

    it('rejects invalid UTF-8 with its line', () => {
      const bytes = Buffer.concat([Buffer.from('title,body\na,b\nc,'), Buffer.from([0xc3, 0x28])]);
      expect(parseAll(bytes).fatal).toEqual({ line: 3, message: expect.stringMatching(/UTF-8/) });
    });

    it('numbers lines from firstLine in later chunks', () => {
      const columns = { title: 0, body: 1, count: 2 };
      const result = parseAll('a,b\n,x\n"open\n', { firstLine: 41, columns });
      expect(result.errors).toEqual([{ line: 42, message: expect.any(String) }]);
      expect(result.fatal).toEqual({ line: 43, message: expect.stringMatching(/not closed/) });
    });
  });

  describe('#chunks', () => {
    it('consumes a chunk up to its last complete record, never inside quotes', () => {
      const text = 'title,body\na,"b\nstill b"\nc,"d\n';
      const result = parseAll(text, { last: false });
      expect(result.consumed).toBe(Buffer.byteLength('title,body\na,"b\nstill b"\n'));
      expect(result.lines).toBe(3);
      expect(rowsOf(result)).toEqual([['a', 'b\nstill b']]);
    });

    it('gives the same rows and lines however the body is cut', () => {
      const field = fc.string({
        unit: fc.constantFrom('a', 'é', '🚀', ',', '"', '\n', '\r\n', ' '),
      });
      const row = fc.tuple(field, field);
      fc.assert(
        fc.property(
          fc.array(row, { maxLength: 20 }),
          fc.array(fc.nat(), { maxLength: 6 }),
          (rows, cuts) => {
            const bytes = Buffer.from(stringify([['title', 'body'], ...rows]));
            const whole = parseInPieces(bytes, []);
            const pieces = parseInPieces(
              bytes,
              cuts.map((cut) => cut % (bytes.length + 1)),
            );
            expect(pieces).toEqual(whole);
            const valid = rows.filter(([title]) => title.length > 0 && [...title].length <= 200);
            expect(whole.rows).toEqual(valid);
          },
        ),
        { numRuns: 300 },
      );
    });
  });
});
