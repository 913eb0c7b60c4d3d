import { EventEmitter } from 'node:events';
import type { KeyvStoreAdapter, StoredData } from 'keyv';

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
 * Approximate size of what Keyv stores (`{ value, expires }`): cached HTTP bodies and strings
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
 * An in-process LRU bounded by entry count and bytes, with per-entry expiry: a Keyv store
 * adapter, so cache-manager tiers it like any other store, plus a synchronous {@link peek}
 * for the hot path. Recency is approximated as CLOCK ("second chance") does: a hit only
 * marks its entry; eviction walks from the oldest insertion (a `Map` keeps that order) and
 * moves marked entries to the back instead of evicting them. A hit costs one property write
 * instead of a delete and re-insert.
 */
export class MemoryLruStore extends EventEmitter implements KeyvStoreAdapter {
  opts: MemoryLruStoreOptions;
  namespace?: string;
  private readonly entries = new Map<string, Entry>();
  private bytes = 0;

  constructor(options: MemoryLruStoreOptions) {
    super();
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

  /** What Keyv stored under `key`, synchronously; `undefined` when absent or expired. */
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

  get<Value>(key: string): Promise<StoredData<Value> | undefined> {
    return Promise.resolve(this.peek(key) as StoredData<Value> | undefined);
  }

  getMany<Value>(keys: string[]): Promise<Array<StoredData<Value | undefined>>> {
    return Promise.resolve(keys.map((key) => this.peek(key) as StoredData<Value | undefined>));
  }

  set(key: string, value: unknown, ttl?: number): Promise<boolean> {
    this.put(key, value, ttl);
    return Promise.resolve(true);
  }

  setMany(values: Array<{ key: string; value: unknown; ttl?: number }>): Promise<void> {
    for (const { key, value, ttl } of values) this.put(key, value, ttl);
    return Promise.resolve();
  }

  delete(key: string): Promise<boolean> {
    return Promise.resolve(this.drop(key));
  }

  deleteMany(keys: string[]): Promise<boolean> {
    let deleted = false;
    for (const key of keys) deleted = this.drop(key) || deleted;
    return Promise.resolve(deleted);
  }

  has(key: string): Promise<boolean> {
    return Promise.resolve(this.peek(key) !== undefined);
  }

  /** Synchronous delete, for the invalidation bus. */
  drop(key: string): boolean {
    const entry = this.entries.get(key);
    if (entry === undefined) return false;
    this.remove(key, entry);
    return true;
  }

  clear(): Promise<void> {
    const keys = [...this.entries.keys()];
    this.entries.clear();
    this.bytes = 0;
    if (this.opts.onRemove) for (const key of keys) this.opts.onRemove(key);
    return Promise.resolve();
  }

  private put(key: string, stored: unknown, ttl: number | undefined): void {
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
