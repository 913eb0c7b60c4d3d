/** `@Transform` of an email field: trimmed and lower-cased, as stored. */
export const normaliseEmail = ({ value }: { value: unknown }) =>
  typeof value === 'string' ? value.trim().toLowerCase() : value;
