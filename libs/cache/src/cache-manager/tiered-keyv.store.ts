import { EventEmitter } from 'node:events';
import type { KeyvStoreAdapter, StoredData } from 'keyv';
import { CacheService } from '../cache.service';

/**
 * A Keyv store on loadstar's tiers, so that cache-manager (`CACHE_MANAGER`, Nest's
 * `CacheInterceptor`) reads the L1 then Redis, and its writes and deletes reach every tier of
 * every process (write fences, invalidation bus) like `CacheService`'s own. Keyv hands it
 * `{ value, expires }` unserialized: the tiers keep values as they are, Redis as JSON.
 */
export class TieredKeyvStore extends EventEmitter implements KeyvStoreAdapter {
  opts = {};
  namespace?: string;

  constructor(private readonly cache: CacheService) {
    super();
  }

  get<Value>(key: string): Promise<StoredData<Value> | undefined> {
    return this.cache.get<StoredData<Value>>(key);
  }

  async set(key: string, value: unknown, ttl?: number): Promise<boolean> {
    await this.cache.set(key, value, ttl);
    return true;
  }

  async setMany(entries: Array<{ key: string; value: unknown; ttl?: number }>): Promise<void> {
    await this.cache.setMany(entries);
  }

  async delete(key: string): Promise<boolean> {
    await this.cache.evict([key]);
    return true;
  }

  async deleteMany(keys: string[]): Promise<boolean> {
    await this.cache.evict(keys);
    return true;
  }

  /** Not offered: every process would have to drop everything; evict keys or tags instead. */
  clear(): Promise<void> {
    return Promise.reject(
      new Error('clearing the whole cache is not supported: delete the keys (or evict tags)'),
    );
  }
}
