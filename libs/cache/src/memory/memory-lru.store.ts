/** Options of {@link MemoryLruStore}. */
export interface MemoryLruStoreOptions {
  maxEntries: number;
  /** Approximate: characters of strings (a cached body is one string). */
  maxBytes: number;
  /** Caps every entry's lifetime, whatever TTL it is set with (the L1 in front of Redis). */
  maxTtlMs?: number;
  /** Called with each key that leaves the store (deleted, expired, evicted or cleared). */
  onRemove?: (key: string) => void;
}

interface Entry {
  stored: unknown;
  expiresAt: number;
  size: number;
  /** Read since it last came round to eviction (the CLOCK algorithm's reference bit). */
  referenced: boolean;
}

/** Bookkeeping bytes of an entry besides its value (Map slot, entry object, key). */
const ENTRY_OVERHEAD_BYTES = 96;

/**
 * Approximate size of a stored entry (`{ value, expires }`): cached HTTP bodies and strings
 * by length, anything else by its JSON length, computed once when set.
 */
function sizeOf(stored: unknown): number {
  const value = (stored as { value?: unknown } | undefined)?.value;
  if (typeof value === 'string') return value.length;
  const body = (value as { body?: unknown } | undefined)?.body;
  if (typeof body === 'string') return body.length + 64;
  return JSON.stringify(value)?.length ?? 0;
}

/**
 * The memory tier: an in-process LRU bounded by entry count and bytes, with per-entry expiry,
 * synchronous throughout (a hit is a {@link peek}, without a promise). Recency is
 * approximated as CLOCK ("second chance") does: a hit only marks its entry; eviction walks
 * from the oldest insertion (a `Map` keeps that order) and moves marked entries to the back
 * instead of evicting them. A hit costs one property write
 * instead of a delete and re-insert.
 */
export class MemoryLruStore {
  private readonly opts: MemoryLruStoreOptions;
  private readonly entries = new Map<string, Entry>();
  private bytes = 0;

  constructor(options: MemoryLruStoreOptions) {
    this.opts = options;
  }

  /** Entries held now. */
  get size(): number {
    return this.entries.size;
  }

  /** Approximate bytes held now. */
  get byteSize(): number {
    return this.bytes;
  }

  /** What is stored under `key`; `undefined` when absent or expired. */
  peek(key: string): unknown {
    const entry = this.entries.get(key);
    if (entry === undefined) return undefined;
    if (entry.expiresAt <= Date.now()) {
      this.remove(key, entry);
      return undefined;
    }
    entry.referenced = true;
    return entry.stored;
  }

  drop(key: string): boolean {
    const entry = this.entries.get(key);
    if (entry === undefined) return false;
    this.remove(key, entry);
    return true;
  }

  clear(): void {
    const keys = [...this.entries.keys()];
    this.entries.clear();
    this.bytes = 0;
    if (this.opts.onRemove) for (const key of keys) this.opts.onRemove(key);
  }

  /** Stores `stored` for `ttl` ms (capped by `maxTtlMs`); too big for the bounds: not kept. */
  set(key: string, stored: unknown, ttl?: number): void {
    const { maxTtlMs } = this.opts;
    const lifetime =
      maxTtlMs === undefined ? (ttl ?? Infinity) : Math.min(ttl ?? maxTtlMs, maxTtlMs);
    const previous = this.entries.get(key);
    if (previous !== undefined) {
      this.entries.delete(key);
      this.bytes -= previous.size;
    }
    const size = sizeOf(stored) + key.length + ENTRY_OVERHEAD_BYTES;
    if (size > this.opts.maxBytes) {
      if (previous !== undefined) this.opts.onRemove?.(key);
      return;
    }
    this.entries.set(key, { stored, expiresAt: Date.now() + lifetime, size, referenced: false });
    this.bytes += size;
    this.evictBeyondBounds();
  }

  private evictBeyondBounds(): void {
    const now = Date.now();
    while (this.entries.size > this.opts.maxEntries || this.bytes > this.opts.maxBytes) {
      const [oldest, entry] = this.entries.entries().next().value as [string, Entry];
      this.entries.delete(oldest);
      if (entry.referenced && entry.expiresAt > now) {
        entry.referenced = false;
        this.entries.set(oldest, entry);
      } else {
        this.bytes -= entry.size;
        this.opts.onRemove?.(oldest);
      }
    }
  }

  private remove(key: string, entry: Entry): void {
    this.entries.delete(key);
    this.bytes -= entry.size;
    this.opts.onRemove?.(key);
  }
}
