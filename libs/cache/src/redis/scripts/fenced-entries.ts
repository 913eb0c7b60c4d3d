/** One value to store with its fence: what the write and the batch fill scripts take. */
export interface FencedEntry {
  valueKey: string;
  fenceKey: string;
  value: string;
  ttlMs: number;
}

/**
 * The layout both scripts read: KEYS = the write counter, then (value key, fence key) per
 * entry; the entries' (value, ttl) pairs go after the script's own arguments.
 */
export function fencedEntryArgs(
  writesKey: string,
  entries: ReadonlyArray<FencedEntry>,
): { keys: string[]; values: string[] } {
  const keys = [writesKey];
  const values: string[] = [];
  for (const entry of entries) {
    keys.push(entry.valueKey, entry.fenceKey);
    values.push(entry.value, String(entry.ttlMs));
  }
  return { keys, values };
}
