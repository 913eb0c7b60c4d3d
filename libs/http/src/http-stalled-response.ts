import type { ServerResponse } from 'node:http';

/** Longest pause between two looks at a watched response. */
const MAX_CHECK_INTERVAL_MS = 1_000;

/**
 * Ends a streamed response whose client has stopped reading. A response waits on back-pressure
 * while its last write is still buffered (`writableNeedDrain`, cleared by `drain`); once it
 * has waited `stallMs` without one `drain`, the connection is destroyed, which destroys the
 * stream piped into it and frees whatever that holds (a database cursor and its connection).
 * A slow reader that keeps taking data is left alone, and so is a response waiting for its
 * own source. It looks every `stallMs / 10` (at most every second), so a stalled response
 * ends within `stallMs` plus that interval.
 *
 * @param onStall runs just before the connection is destroyed (to log it, say)
 * @example endStalledResponse(reply.raw, 30_000, () => logger.warn('export stalled'));
 */
export function endStalledResponse(
  response: ServerResponse,
  stallMs: number,
  onStall?: () => void,
): void {
  let waitingSince: number | undefined;
  const progressed = () => {
    waitingSince = undefined;
  };
  const check = () => {
    if (!response.writableNeedDrain) return progressed();
    const now = performance.now();
    waitingSince ??= now;
    if (now - waitingSince < stallMs) return;
    stop();
    onStall?.();
    response.destroy();
  };
  const timer = setInterval(check, Math.min(MAX_CHECK_INTERVAL_MS, Math.max(1, stallMs / 10)));
  const stop = () => {
    clearInterval(timer);
    response.off('drain', progressed);
  };
  response.on('drain', progressed);
  response.once('close', stop);
}
