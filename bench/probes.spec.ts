import { configSwitchExists, hasRateLimitHeaders } from './probes';

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
});
