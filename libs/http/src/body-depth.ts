/**
 * Whether `value` has objects or arrays nested more than `levels` deep. Recursion is bounded
 * by `levels`, so a body nested 100 000 levels deep is refused after `levels` steps down.
 */
export function nestsDeeperThan(value: unknown, levels: number): boolean {
  if (typeof value !== 'object' || value === null) return false;
  if (levels === 0) return true;
  if (Array.isArray(value)) {
    for (const item of value) if (nestsDeeperThan(item, levels - 1)) return true;
    return false;
  }
  for (const key in value) {
    if (nestsDeeperThan((value as Record<string, unknown>)[key], levels - 1)) return true;
  }
  return false;
}

/**
 * Whether a string in `value`, or a key, holds U+0000: PostgreSQL's `text` cannot store it, so
 * such a body is a client error, not a failed query. Call it on a body whose depth is checked.
 */
export function containsNulCharacter(value: unknown): boolean {
  if (typeof value === 'string') return value.includes('\0');
  if (typeof value !== 'object' || value === null) return false;
  if (Array.isArray(value)) return value.some(containsNulCharacter);
  for (const key in value) {
    if (key.includes('\0')) return true;
    if (containsNulCharacter((value as Record<string, unknown>)[key])) return true;
  }
  return false;
}
