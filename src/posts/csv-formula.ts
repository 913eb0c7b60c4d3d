/**
 * Cells starting with `=`, `+`, `-`, `@`, a tab or a carriage return are formulas to Excel,
 * LibreOffice and Google Sheets (CSV injection: `=HYPERLINK(…)`, `=cmd|…`); OWASP's defence is
 * a leading `'`, which spreadsheets show as text. A cell that starts with `'` itself gets one
 * too, so the escape can be undone exactly: the CSV export imports back unchanged.
 */
const NEEDS_ESCAPE = /^[=+\-@\t\r']/;
const ESCAPED = /^'[=+\-@\t\r']/;

/**
 * A text cell as the CSV export writes it: prefixed with `'` when it starts with a formula
 * character or `'`.
 *
 * @example escapeCsvFormula('=HYPERLINK("https://x.example")') // `'=HYPERLINK("https://x.example")`
 */
export function escapeCsvFormula(cell: string): string {
  return NEEDS_ESCAPE.test(cell) ? `'${cell}` : cell;
}

/**
 * A text cell as the CSV import reads it: one leading `'` removed when a formula character or
 * another `'` follows it (what {@link escapeCsvFormula} added); anything else is kept as is.
 *
 * @example unescapeCsvFormula("'=1+1") // '=1+1'; unescapeCsvFormula("'tis") // "'tis"
 */
export function unescapeCsvFormula(cell: string): string {
  return ESCAPED.test(cell) ? cell.slice(1) : cell;
}
