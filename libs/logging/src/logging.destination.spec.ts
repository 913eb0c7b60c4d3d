import { execFileSync } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { setImmediate as nextTurn, setTimeout as sleep } from 'node:timers/promises';
import { TurnBatchedDestination } from './logging.destination';

describe(TurnBatchedDestination.name, () => {
  let folder: string;
  let file: string;
  let fd: number;

  beforeEach(() => {
    folder = mkdtempSync(join(tmpdir(), 'log-destination-'));
    file = join(folder, 'out.log');
    fd = openSync(file, 'a');
  });

  afterEach(() => {
    closeSync(fd);
    rmSync(folder, { recursive: true, force: true });
  });

  async function written(expected: string): Promise<string> {
    for (let waited = 0; waited < 2_000; waited += 10) {
      const text = readFileSync(file, 'utf8');
      if (text.length >= expected.length) return text;
      await sleep(10);
    }
    return readFileSync(file, 'utf8');
  }

  it('holds the lines of a turn and writes them in order after it, multi-byte text intact', async () => {
    const destination = new TurnBatchedDestination(fd);
    destination.write('{"msg":"one"}\n');
    destination.write('{"msg":"zwei – ü"}\n');
    expect(readFileSync(file, 'utf8')).toBe('');
    await nextTurn();
    destination.write('{"msg":"three"}\n');
    const all = '{"msg":"one"}\n{"msg":"zwei – ü"}\n{"msg":"three"}\n';
    expect(await written(all)).toBe(all);
  });

  it('writes everything it and SonicBoom hold before flushSync returns', () => {
    const destination = new TurnBatchedDestination(fd);
    destination.write('a\n');
    destination.write('b\n');
    destination.flushSync();
    expect(readFileSync(file, 'utf8')).toBe('a\nb\n');
  });

  it('writes the lines of the turn that calls process.exit, after the earlier ones', () => {
    const script = `
      const { TurnBatchedDestination } = require('./libs/logging/src/logging.destination');
      const destination = new TurnBatchedDestination(1);
      destination.write('first\\n');
      setImmediate(() => setTimeout(() => {
        destination.write('second\\n');
        destination.write('last\\n');
        process.exit(0);
      }, 20));
    `;
    const output = execFileSync(
      process.execPath,
      ['-r', 'ts-node/register/transpile-only', '-e', script],
      { cwd: resolve(__dirname, '../../..'), encoding: 'utf8', timeout: 30_000 },
    );
    expect(output).toBe('first\nsecond\nlast\n');
  });
});
