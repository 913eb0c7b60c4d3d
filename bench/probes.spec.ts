import { configSwitchExists, hasRateLimitHeaders, missShare, parseCacheReads } from './probes';

describe('bench probes', () => {
  describe('configSwitchExists', () => {
    it('recognises a variable the configuration validates', () => {
      expect(configSwitchExists('LOG_LEVEL')).toBe(true);
      expect(configSwitchExists('CLUSTER_WORKERS')).toBe(true);
    });

    it('does not invent one the configuration ignores', () => {
      expect(configSwitchExists('LOADSTAR_NO_SUCH_SWITCH')).toBe(false);
    });
  });

  describe('hasRateLimitHeaders', () => {
    it("accepts Nest's X-RateLimit-* and the IETF draft's RateLimit-* names", () => {
      expect(hasRateLimitHeaders(new Headers({ 'X-RateLimit-Limit': '10' }))).toBe(true);
      expect(hasRateLimitHeaders(new Headers({ 'RateLimit-Remaining': '9' }))).toBe(true);
      expect(hasRateLimitHeaders(new Headers({ 'x-request-id': 'a' }))).toBe(false);
    });
  });

  describe('parseCacheReads', () => {
    const scrape = [
      '# TYPE cache_operations_total counter',
      'cache_operations_total{cache="user",result="hit"} 90',
      'cache_operations_total{cache="user",result="miss"} 10',
      'cache_operations_total{cache="post",result="miss"} 7',
      'cache_operations_total{cache="user",result="error"} 3',
    ].join('\n');

    it("counts one cache's hits, misses and stale reads, nothing else", () => {
      expect(parseCacheReads(scrape, 'user')).toEqual({ hit: 90, miss: 10, stale: 0 });
      expect(parseCacheReads(scrape, 'post')).toEqual({ hit: 0, miss: 7, stale: 0 });
    });

    it('turns two scrapes into the share of misses between them', () => {
      const before = { hit: 90, miss: 10, stale: 0 };
      expect(missShare(before, { hit: 91, miss: 109, stale: 0 })).toBeCloseTo(0.99);
      expect(missShare(before, before)).toBeNaN();
    });
  });
});
