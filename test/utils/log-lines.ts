import { sleep } from './net';

/** One log line as the app writes it: a JSON object with pino's fields and the call's own. */
export interface LogLine {
  level: string;
  msg?: string;
  requestId?: string;
  context?: string;
  [field: string]: unknown;
}

/** The JSON lines of `output` in order; anything else (a stack on stderr, a partial last line) is skipped. */
export function parseLogLines(output: string): LogLine[] {
  const lines: LogLine[] = [];
  for (const text of output.split('\n')) {
    if (!text.startsWith('{')) continue;
    try {
      lines.push(JSON.parse(text) as LogLine);
    } catch {
      // the line is still being written
    }
  }
  return lines;
}

/**
 * Waits until the log read by `read` has `count` lines matching `match` and returns them. The
 * app's destination is asynchronous, so a line can arrive after the response.
 *
 * @throws Error naming what was awaited when the lines do not come within `timeoutMs`
 */
export async function waitForLogLines(
  read: () => string,
  match: (line: LogLine) => boolean,
  { count = 1, timeoutMs = 5_000 }: { count?: number; timeoutMs?: number } = {},
): Promise<LogLine[]> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const found = parseLogLines(read()).filter(match);
    if (found.length >= count) return found;
    if (Date.now() > deadline) {
      throw new Error(
        `expected ${count} matching log line(s) within ${timeoutMs} ms, saw ${found.length}`,
      );
    }
    await sleep(25);
  }
}

/** Matches the access-log line of one request. */
export function accessLineOf(requestId: string): (line: LogLine) => boolean {
  return (line) => line.requestId === requestId && line.statusCode !== undefined;
}
