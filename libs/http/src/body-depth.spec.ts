import { containsNulCharacter, nestsDeeperThan } from './body-depth';

/** `levels` objects nested in each other (`{a: {a: … 1}}`), built without recursion. */
function nested(levels: number, wrap: (inner: unknown) => unknown): unknown {
  let value: unknown = 1;
  for (let i = 0; i < levels; i++) value = wrap(value);
  return value;
}

describe('nestsDeeperThan', () => {
  it.each([null, 1, 'text', true, undefined])('is false for the primitive %j', (value) => {
    expect(nestsDeeperThan(value, 0)).toBe(false);
  });

  it('counts objects and arrays alike', () => {
    expect(nestsDeeperThan({ a: [{ b: 1 }] }, 3)).toBe(false);
    expect(nestsDeeperThan({ a: [{ b: 1 }] }, 2)).toBe(true);
  });

  it('allows exactly the limit', () => {
    expect(
      nestsDeeperThan(
        nested(32, (inner) => ({ a: inner })),
        32,
      ),
    ).toBe(false);
    expect(
      nestsDeeperThan(
        nested(33, (inner) => ({ a: inner })),
        32,
      ),
    ).toBe(true);
  });

  it('refuses 100 000 levels without overflowing the stack', () => {
    expect(
      nestsDeeperThan(
        nested(100_000, (inner) => [inner]),
        32,
      ),
    ).toBe(true);
  });

  it('looks past shallow siblings', () => {
    expect(nestsDeeperThan({ a: 1, b: 'x', c: [1, 2, [[[1]]]] }, 3)).toBe(true);
  });
});

describe('containsNulCharacter', () => {
  it.each([null, 1, 'text', true, undefined, { a: ['x', { b: 'y' }] }, '\\u0000'])(
    'is false for %j',
    (value) => expect(containsNulCharacter(value)).toBe(false),
  );

  it.each([
    ['a string', 'a\0b'],
    ['a nested value', { a: [1, { b: 'x\0' }] }],
    ['a key', { ['k\0']: 1 }],
  ])('finds U+0000 in %s', (_, value) => expect(containsNulCharacter(value)).toBe(true));
});
