import { ApiClient } from '../utils/api-client';

/**
 * `cache_operations_total{cache, result}` as `GET /metrics` shows it, summed over the caches
 * when `cache` is omitted; 0 for a series not there yet.
 */
export async function cacheOperations(
  api: ApiClient,
  result: 'hit' | 'miss' | 'stale' | 'error',
  cache?: string,
): Promise<number> {
  const { status, text } = await api.get('/metrics');
  if (status !== 200) throw new Error(`GET /metrics answered ${status}`);
  let total = 0;
  for (const [, labels, value] of text.matchAll(/^cache_operations_total\{([^}]*)\} (\S+)$/gm)) {
    const of = (name: string) => new RegExp(`(?:^|,)${name}="([^"]*)"`).exec(labels)?.[1];
    if (of('result') === result && (cache === undefined || of('cache') === cache)) {
      total += Number(value);
    }
  }
  return total;
}
