import { etagMatches, etagOf, jsonArrayOf, toCachedBody } from './cached-body';

describe('toCachedBody', () => {
  it('serializes once and tags the body with a weak ETag of its content', () => {
    const cached = toCachedBody({ id: 1, name: 'Ann' });
    expect(cached.body).toBe('{"id":1,"name":"Ann"}');
    expect(cached.etag).toMatch(/^W\/"[\w-]{27}"$/);
    expect(cached.etag).toBe(etagOf(cached.body));
    expect(toCachedBody({ id: 1, name: 'Bob' }).etag).not.toBe(cached.etag);
  });
});

describe('etagMatches', () => {
  const etag = 'W/"abc"';

  it.each([
    ['the same tag', 'W/"abc"'],
    ['the strong form (weak comparison)', '"abc"'],
    ['a list holding it', '"zzz", W/"abc"'],
    ['a wildcard', '*'],
  ])('matches %s', (_, header) => {
    expect(etagMatches(header, etag)).toBe(true);
  });

  it.each([
    ['another tag', 'W/"abd"'],
    ['a list without it', '"x", "y"'],
    ['an empty header', ''],
  ])('does not match %s', (_, header) => {
    expect(etagMatches(header, etag)).toBe(false);
  });
});

describe('jsonArrayOf', () => {
  it('joins cached bodies into an array, null for the missing ones', () => {
    const json = jsonArrayOf([toCachedBody({ a: 1 }), undefined, toCachedBody('x')]);
    expect(JSON.parse(json)).toEqual([{ a: 1 }, null, 'x']);
    expect(jsonArrayOf([])).toBe('[]');
  });
});
