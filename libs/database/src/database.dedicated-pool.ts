import type { Pool, PoolClient } from 'pg';
import { onIdleConnectionError } from './database.options';
import { DedicatedPoolStats } from './interfaces';

/**
 * A small pool of its own for work that holds a connection as long as a client lets it (a
 * streamed export). It never queues: {@link tryConnect} refuses at once when every connection
 * is taken, so the caller can answer "busy" instead of waiting, and whatever holds these
 * connections cannot take one of the application's pool. Opened with
 * `DatabaseService.openDedicatedPool()`, which closes it on shutdown.
 */
export class DedicatedPool {
  private inUse = 0;

  constructor(
    private readonly pool: Pool,
    /** Names the pool in readiness details and logs. */
    readonly name: string,
    /** Connections at most. */
    readonly max: number,
  ) {
    // every client is checked out through tryConnect(), so each release frees one place
    pool.on('release', () => {
      this.inUse -= 1;
    });
    pool.on('error', onIdleConnectionError);
  }

  /**
   * A connection, or `undefined` when all {@link max} are in use (or being opened). Give it back
   * with `client.release()` as with `pg`; `release(error)` discards it.
   */
  tryConnect(): Promise<PoolClient> | undefined {
    if (this.inUse >= this.max) return undefined;
    this.inUse += 1;
    return this.pool.connect().catch((error: unknown) => {
      this.inUse -= 1;
      throw error;
    });
  }

  stats(): DedicatedPoolStats {
    return { name: this.name, max: this.max, inUse: this.inUse };
  }

  /** Closes idle connections at once and the others as they are released. */
  end(): Promise<void> {
    return this.pool.end();
  }
}
