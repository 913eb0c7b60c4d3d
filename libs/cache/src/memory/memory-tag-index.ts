/**
 * Which in-process entries carry which tag. Entries leave the LRU on their own (expiry,
 * eviction), so the LRU reports each removal through {@link forget} and the index never
 * outgrows the entries it describes.
 */
export class MemoryTagIndex {
  private readonly keysByTag = new Map<string, Set<string>>();
  private readonly tagsByKey = new Map<string, readonly string[]>();

  add(key: string, tags: readonly string[]): void {
    this.forget(key);
    this.tagsByKey.set(key, tags);
    for (const tag of tags) {
      let keys = this.keysByTag.get(tag);
      if (keys === undefined) this.keysByTag.set(tag, (keys = new Set()));
      keys.add(key);
    }
  }

  /** The keys tagged with any of `tags`. */
  keysOf(tags: readonly string[]): string[] {
    const keys = new Set<string>();
    for (const tag of tags) for (const key of this.keysByTag.get(tag) ?? []) keys.add(key);
    return [...keys];
  }

  forget(key: string): void {
    const tags = this.tagsByKey.get(key);
    if (tags === undefined) return;
    this.tagsByKey.delete(key);
    for (const tag of tags) {
      const keys = this.keysByTag.get(tag);
      keys?.delete(key);
      if (keys?.size === 0) this.keysByTag.delete(tag);
    }
  }
}
