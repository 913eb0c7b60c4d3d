import type { Pool, PoolClient } from 'pg';
import { onIdleConnectionError } from './database.options';
import { DedicatedPoolStats } from './interfaces';

/**
 * Where a dedicated pool's next connection goes: the server's URL, and what to do when that
 * server refuses (e.g. a replica: take it out of the rotation and name the primary instead).
 *
 * @internal
 */
export interface DedicatedPoolTarget {
  url: string;
  /** Another URL to try once after a failed connect, if any. */
  fallback?(error: unknown): string | undefined;
}

/**
 * A small pool of its own for work that holds a connection as long as a client lets it (a
 * streamed export). It never queues: {@link tryConnect} refuses at once when every connection
 * is taken, so the caller can answer "busy" instead of waiting, and whatever holds these
 * connections cannot take one of the application's pool. A pool for replica reads connects
 * each time to a replica in the rotation (one `pg.Pool` per server, {@link max} across them
 * all). Opened with `DatabaseService.openDedicatedPool()`, which closes it on shutdown.
 */
export class DedicatedPool {
  private inUse = 0;
  private readonly pools = new Map<string, Pool>();

  constructor(
    /** Names the pool in readiness details and logs. */
    readonly name: string,
    /** Connections at most. */
    readonly max: number,
    private readonly target: () => Promise<DedicatedPoolTarget>,
    private readonly createPool: (url: string) => Pool,
  ) {}

  /**
   * A connection, or `undefined` when all {@link max} are in use (or being opened). Give it back
   * with `client.release()` as with `pg`; `release(error)` discards it.
   */
  tryConnect(): Promise<PoolClient> | undefined {
    if (this.inUse >= this.max) return undefined;
    this.inUse += 1;
    return this.target()
      .then((target) =>
        this.pool(target.url)
          .connect()
          .catch((error: unknown) => {
            const fallback = target.fallback?.(error);
            if (fallback === undefined) throw error;
            return this.pool(fallback).connect();
          }),
      )
      .catch((error: unknown) => {
        this.inUse -= 1;
        throw error;
      });
  }

  stats(): DedicatedPoolStats {
    return { name: this.name, max: this.max, inUse: this.inUse };
  }

  /** Closes idle connections at once and the others as they are released. */
  async end(): Promise<void> {
    await Promise.all([...this.pools.values()].map((pool) => pool.end()));
  }

  private pool(url: string): Pool {
    let pool = this.pools.get(url);
    if (!pool) {
      pool = this.createPool(url);
      // every client is checked out through tryConnect(), so each release frees one place
      pool.on('release', () => {
        this.inUse -= 1;
      });
      pool.on('error', onIdleConnectionError);
      this.pools.set(url, pool);
    }
    return pool;
  }
}
