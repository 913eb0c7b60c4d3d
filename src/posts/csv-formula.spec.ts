import { escapeCsvFormula, unescapeCsvFormula } from './csv-formula';

describe('escapeCsvFormula', () => {
  it.each([
    ['=HYPERLINK("https://evil.example","x")', `'=HYPERLINK("https://evil.example","x")`],
    ['+1+1', "'+1+1"],
    ['-2+3', "'-2+3"],
    ['@SUM(A1)', "'@SUM(A1)"],
    ['\tindented', "'\tindented"],
    ['\rcarriage', "'\rcarriage"],
    ["'quoted", "''quoted"],
    ["'", "''"],
  ])('prefixes %j with a quote', (cell, escaped) => {
    expect(escapeCsvFormula(cell)).toBe(escaped);
  });

  it.each(['plain', '', ' =spaced', 'a=b', '1-2', '\nline', 'é=', "x'"])(
    'keeps %j as it is',
    (cell) => {
      expect(escapeCsvFormula(cell)).toBe(cell);
    },
  );
});

describe('unescapeCsvFormula', () => {
  it.each([
    '=HYPERLINK("https://evil.example","x")',
    '+1',
    '-1',
    '@x',
    '\tx',
    '\rx',
    "'",
    "''",
    "'=x",
    "'tis",
    'plain',
    '',
  ])('undoes escapeCsvFormula exactly for %j', (cell) => {
    expect(unescapeCsvFormula(escapeCsvFormula(cell))).toBe(cell);
  });

  it('removes exactly one quote, and only before a formula character or a quote', () => {
    expect(unescapeCsvFormula("''=x")).toBe("'=x");
    expect(unescapeCsvFormula("'tis")).toBe("'tis");
    expect(unescapeCsvFormula("'")).toBe("'");
    expect(unescapeCsvFormula('=x')).toBe('=x');
  });
});
