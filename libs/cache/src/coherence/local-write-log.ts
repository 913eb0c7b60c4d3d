/**
 * The writes and evictions of this process (its own, and those the invalidation bus reports)
 * that came while fills were running, so that a fill which began before a write of its key,
 * or before an eviction of one of its tags, does not store what it loaded. Entries are kept
 * only while a fill runs, and at most `maxEntries` of them: beyond that the log forgets, and
 * every fill running then counts as overtaken (it stores nothing; its callers still get its
 * value).
 */
export class LocalWriteLog {
  private sequence = 0;
  private running = 0;
  /** Fills that began before this mark are overtaken, whatever they load. */
  private forgottenAt = 0;
  private readonly keys = new Map<string, number>();
  private readonly tags = new Map<string, number>();

  constructor(private readonly maxEntries: number) {}

  /** A fill begins; pair with {@link end}. @returns its mark for {@link overtaken} */
  begin(): number {
    this.running++;
    return this.sequence;
  }

  end(): void {
    if (--this.running > 0) return;
    this.keys.clear();
    this.tags.clear();
  }

  wroteKeys(keys: Iterable<string>): void {
    this.record(this.keys, keys);
  }

  evictedTags(tags: Iterable<string>): void {
    this.record(this.tags, tags);
  }

  /** Anything may have changed (the L1 was cleared): every running fill is overtaken. */
  wroteAll(): void {
    if (this.running === 0) return;
    this.forgottenAt = ++this.sequence;
    this.keys.clear();
    this.tags.clear();
  }

  /** Whether `key`, or one of `tags`, was written or evicted after the fill of `mark` began. */
  overtaken(mark: number, key: string, tags: readonly string[] = []): boolean {
    if (mark < this.forgottenAt || (this.keys.get(key) ?? 0) > mark) return true;
    return tags.some((tag) => (this.tags.get(tag) ?? 0) > mark);
  }

  private record(log: Map<string, number>, items: Iterable<string>): void {
    if (this.running === 0) return;
    const at = ++this.sequence;
    for (const item of items) log.set(item, at);
    if (this.keys.size + this.tags.size > this.maxEntries) this.wroteAll();
  }
}
