/** Prefix of the `body.<field>` key sources. */
export const BODY_SOURCE = 'body.';

/** Longest body value used as a key: login emails are at most 254 characters. */
const MAX_BODY_KEY_LENGTH = 254;

/**
 * The key part of a JSON body field, `b:<field>:<value>` with the value trimmed and
 * lower-cased, or `undefined` when the field is not a non-empty string of at most 254
 * characters (such a request is not counted under this key).
 *
 * @example bodyKey({ email: ' Ann@Example.com ' }, 'email') // 'b:email:ann@example.com'
 */
export function bodyKey(body: unknown, field: string): string | undefined {
  const value = (body as Record<string, unknown> | undefined)?.[field];
  if (typeof value !== 'string') return undefined;
  const normalised = value.trim().toLowerCase();
  if (normalised === '' || normalised.length > MAX_BODY_KEY_LENGTH) return undefined;
  return `b:${field}:${normalised}`;
}
