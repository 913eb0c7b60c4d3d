/** A command that Redis did not answer within its timeout. */
export class RedisCommandTimeoutError extends Error {
  constructor(timeoutMs: number) {
    super(`Redis did not answer within ${timeoutMs} ms`);
  }
}

/**
 * `operation`, or `timedOut()` (by default a {@link RedisCommandTimeoutError}) after
 * `timeoutMs`. node-redis's own command timeout only covers the wait before the command is
 * written: a Redis that accepted the connection but stopped answering (frozen, overloaded, a
 * half-open socket, a dropped port) would hold every command, and the request behind it,
 * forever.
 */
export function withinTimeout<T>(
  operation: Promise<T>,
  timeoutMs: number,
  timedOut: () => Error = () => new RedisCommandTimeoutError(timeoutMs),
): Promise<T> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(timedOut()), timeoutMs);
    operation.then(
      (value) => {
        clearTimeout(timer);
        resolve(value);
      },
      (error: unknown) => {
        clearTimeout(timer);
        reject(error);
      },
    );
  });
}
