import { compileCacheKey, formatCacheKey } from './cache-key';

describe('compileCacheKey', () => {
  describe('#build', () => {
    it('fills route parameters and names the cache after the first segment', () => {
      const key = compileCacheKey('post:{id}:comments:{page}');
      expect(key.name).toBe('post');
      expect(key.build({ params: { id: '7', page: '2' } })).toBe('post:7:comments:2');
    });

    it('puts the caller in {user}, so two users never share an entry', () => {
      const key = compileCacheKey('me:{user}');
      expect(key.build({ user: { id: 1 } })).toBe('me:1');
      expect(key.build({ user: { id: 2 } })).toBe('me:2');
    });

    it('throws for {user} on a request without an authenticated caller', () => {
      expect(() => compileCacheKey('me:{user}').build({ params: {} })).toThrow(/authenticated/);
    });

    it.each(['../x', 'a b', 'a:b', 'x'.repeat(65), ''])(
      'bypasses the cache for the parameter %j',
      (value) => {
        expect(compileCacheKey('user:{id}').build({ params: { id: value } })).toBeUndefined();
      },
    );

    it('bypasses the cache for a missing parameter', () => {
      expect(compileCacheKey('user:{id}').build({ params: {} })).toBeUndefined();
    });

    it.each(['lock:{id}', 'tag:{id}'])('refuses the reserved template %s', (template) => {
      expect(() => compileCacheKey(template)).toThrow(/reserved/);
    });
  });
});

describe('formatCacheKey', () => {
  it('fills a template from values', () => {
    expect(formatCacheKey('user:{id}', { id: 42 })).toBe('user:42');
  });

  it('throws for a missing value', () => {
    expect(() => formatCacheKey('user:{id}', {})).toThrow(/needs \{id\}/);
  });
});
