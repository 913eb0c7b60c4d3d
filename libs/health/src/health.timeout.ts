/**
 * Settles like `work`, or rejects after `ms`: a ping that hangs (a dead peer, a lost packet)
 * must not hang the probe that asked.
 *
 * @internal
 */
export function withTimeout<T>(work: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
  });
  return Promise.race([work, timeout]).finally(() => clearTimeout(timer));
}
