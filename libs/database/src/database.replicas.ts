import { randomInt } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { Inject, Injectable, Logger, OnModuleInit } from '@nestjs/common';
import { Client, Pool } from 'pg';
import { DataSource } from 'typeorm';
import type { PostgresConnectionOptions } from 'typeorm/driver/postgres/PostgresConnectionOptions';
import {
  READ_YOUR_WRITES_REDIS_TIMEOUT_MS,
  READ_YOUR_WRITES_TTL_MARGIN_MS,
} from './database.constants';
import { DATABASE_MODULE_OPTIONS } from './database.module-definition';
import { buildDataSourceOptions } from './database.options';
import { DatabaseServer } from './database.server';
import { LocalWriteFences, PRIMARY_ONLY, SharedWriteFences } from './database.write-fences';
import { DatabaseModuleOptions, DatabaseReplicaState, DatabaseReplicaStats } from './interfaces';

/** A position in the WAL (`'16/B374D848'`) as a number, so positions compare. */
export function parseLsn(text: string): bigint {
  const [high, low] = text.split('/');
  return (BigInt(`0x${high}`) << 32n) | BigInt(`0x${low}`);
}

/** The primary's WAL position as read at `at` (a monotonic clock, `performance.now()`). */
interface LsnSample {
  at: number;
  lsn: bigint;
}

/** A probe connection of the poller, replaced after any failure. */
class Probe {
  private client?: Client;

  constructor(
    private readonly url: string,
    private readonly timeoutMs: number,
    private readonly connectTimeoutMs: number,
  ) {}

  /** Set while a query runs: a probe that hangs is skipped by later ticks, not queued. */
  busy = false;

  async query<T>(sql: string): Promise<T> {
    this.busy = true;
    try {
      if (!this.client) {
        const client = new Client({
          connectionString: this.url,
          application_name: 'loadstar-replicas',
          connectionTimeoutMillis: this.connectTimeoutMs,
          query_timeout: this.timeoutMs,
        });
        client.on('error', () => this.discard(client));
        this.client = client;
        await client.connect();
      }
      const { rows } = await this.client.query(sql);
      return rows[0] as T;
    } catch (error) {
      if (this.client) this.discard(this.client);
      throw error;
    } finally {
      this.busy = false;
    }
  }

  close(): void {
    if (this.client) this.discard(this.client);
  }

  private discard(client: Client): void {
    if (this.client === client) this.client = undefined;
    client.end().catch(() => undefined);
  }
}

/**
 * One read replica as the router sees it.
 *
 * @internal
 */
export class Replica {
  state: DatabaseReplicaState = 'starting';
  /** WAL replayed as of the last probe; `replay ≥ p` means it has every commit up to `p`. */
  replayLsn = -1n;
  lagMs?: number;
  /** When the last probe answered; a replica whose probes stop answering leaves the rotation. */
  polledAt = -Infinity;
  dataSource?: DataSource;
  private connecting?: Promise<unknown>;

  constructor(
    readonly name: string,
    readonly url: string,
    readonly probe: Probe,
  ) {}

  /** Its pool, created on the first good probe (a replica down at start delays nothing). */
  connect(create: () => DataSource): void {
    if (this.dataSource || this.connecting) return;
    const dataSource = create();
    this.connecting = dataSource
      .initialize()
      .then(() => (this.dataSource = dataSource))
      .catch(() => undefined)
      .finally(() => (this.connecting = undefined));
  }

  /** Closes its pool, once it has finished connecting if it was. */
  async close(): Promise<void> {
    this.probe.close();
    await this.connecting;
    if (this.dataSource?.isInitialized) await this.dataSource.destroy();
  }

  poolStats(): DatabaseReplicaStats['pool'] {
    const pool = (this.dataSource?.driver as unknown as { master?: Pool } | undefined)?.master;
    return {
      total: pool?.totalCount ?? 0,
      idle: pool?.idleCount ?? 0,
      waiting: pool?.waitingCount ?? 0,
    };
  }
}

/** `host:port/database` of a URL: names a replica in metrics and readiness, without secrets. */
function replicaName(url: string): string {
  const { hostname, port, pathname } = new URL(url);
  return `${hostname}:${port || 5432}${pathname}`;
}

/**
 * The read replicas, their replay positions and the rotation (docs/scaling-out.md).
 *
 * A poller reads the primary's WAL position (`pg_current_wal_lsn()`) and each replica's
 * replayed position (`pg_last_wal_replay_lsn()`) every `replicaPollMs`, on connections of its
 * own. A replica's lag is the age of the oldest primary position it has not replayed yet
 * (0 when it has replayed everything, so an idle primary shows no lag); a replica that is
 * unreachable, not a standby, or lags more than `replicaMaxLagMs` is out of the rotation
 * until a probe shows it back.
 *
 * Read-your-writes: {@link noteWrite} keeps the primary's WAL position after a client's write
 * (its fence) until every replica in the rotation must have replayed it; meanwhile that
 * client's reads go to a replica that has replayed the fence, or to the primary. The fences
 * live in this process, and in Redis too when one is configured, so that every process and
 * instance knows them; reading a fence there is the only round trip of a pick.
 */
@Injectable()
export class DatabaseReplicas implements OnModuleInit {
  private readonly logger = new Logger('DatabaseReplicas');
  private readonly replicas: Replica[];
  private primaryProbe?: Probe;
  private readonly maxLagMs: number;
  private readonly pollMs: number;
  /** A replica whose last answer is older than this is out of the rotation. */
  private readonly staleAfterMs: number;
  /** The primary's positions, oldest first, over a little more than `maxLagMs`. */
  private samples: LsnSample[] = [];
  private readonly localFences: LocalWriteFences;
  /** The fences of every process and instance, when the app has a Redis. */
  private readonly sharedFences?: SharedWriteFences;
  /** Replicas that serve reads; only those whose pool is connected. */
  private inRotation: (Replica & { dataSource: DataSource })[] = [];
  private timer?: NodeJS.Timeout;
  /** Set at shutdown: a probe that answers later opens no pool. */
  private closed = false;

  constructor(
    @Inject(DATABASE_MODULE_OPTIONS) private readonly options: DatabaseModuleOptions,
    private readonly server: DatabaseServer,
  ) {
    const { config } = options;
    this.maxLagMs = config.replicaMaxLagMs;
    this.pollMs = config.replicaPollMs;
    this.staleAfterMs = Math.max(4 * this.pollMs, config.connectTimeoutMs);
    this.replicas = config.replicaUrls.map(
      (url) => new Replica(replicaName(url), url, this.newProbe(url)),
    );
    // Past this, every replica in the rotation has the write: it lags at most maxLagMs behind
    // a primary position read at most one poll after the write, as of a probe at most
    // staleAfterMs old.
    const fenceTtlMs =
      this.maxLagMs + this.staleAfterMs + this.pollMs + READ_YOUR_WRITES_TTL_MARGIN_MS;
    this.localFences = new LocalWriteFences(fenceTtlMs);
    if (this.configured && config.redisConnection) {
      this.sharedFences = new SharedWriteFences(
        config.redisConnection,
        fenceTtlMs,
        READ_YOUR_WRITES_REDIS_TIMEOUT_MS,
      );
    }
  }

  /** Whether any replica is configured. */
  get configured(): boolean {
    return this.replicas.length > 0;
  }

  async onModuleInit(): Promise<void> {
    if (!this.configured) return;
    this.primaryProbe = this.newProbe(await this.server.primaryUrl());
    await this.sharedFences?.connect();
    this.tick();
    this.timer = setInterval(() => this.tick(), this.pollMs).unref();
  }

  /**
   * A replica for a read, or `undefined` for the primary: one in the rotation that has
   * replayed `client`'s last write (see {@link noteWrite}), chosen at random. The primary
   * too when the client's fence cannot be read from Redis in time.
   */
  async pick(client?: string): Promise<(Replica & { dataSource: DataSource }) | undefined> {
    const freshAfter = performance.now() - this.staleAfterMs;
    let candidates = this.inRotation.filter((replica) => replica.polledAt >= freshAfter);
    if (candidates.length === 0) return undefined;
    if (client !== undefined) {
      let fence = this.localFences.fenceOf(client);
      if (this.sharedFences) {
        const shared = await this.sharedFences.fenceOf(client).catch(() => PRIMARY_ONLY);
        if (shared !== undefined && (fence === undefined || shared > fence)) fence = shared;
      }
      if (fence !== undefined) {
        candidates = candidates.filter((replica) => replica.replayLsn >= fence);
      }
    }
    if (candidates.length === 0) return undefined;
    return candidates[candidates.length === 1 ? 0 : randomInt(candidates.length)];
  }

  /**
   * Call once `client`'s write has committed, before it gets the answer, with the primary's
   * WAL position read after the commit ({@link PRIMARY_ONLY} when it could not be read).
   * Never rejects.
   */
  async noteWrite(client: string, lsn: bigint): Promise<void> {
    if (!this.configured) return;
    this.localFences.record(client, lsn);
    await this.sharedFences?.record(client, lsn);
  }

  /**
   * Whether a read by `client` must look for a fence: always when fences are shared (another
   * process may have one), else only when this process holds one.
   */
  awaitsReplay(client: string): boolean {
    return this.sharedFences !== undefined || this.localFences.fenceOf(client) !== undefined;
  }

  /** A read on this replica failed to connect: out of the rotation until a probe answers. */
  markUnreachable(replica: Replica, error: unknown): void {
    this.setState(replica, 'unreachable', error);
    replica.polledAt = -Infinity;
    this.rebuildRotation();
  }

  stats(): DatabaseReplicaStats[] {
    return this.replicas.map((replica) => ({
      name: replica.name,
      state: replica.state,
      lagMs: replica.lagMs,
      pool: replica.poolStats(),
    }));
  }

  async close(): Promise<void> {
    this.closed = true;
    clearInterval(this.timer);
    this.primaryProbe?.close();
    this.sharedFences?.close();
    await Promise.all(this.replicas.map((replica) => replica.close()));
  }

  private tick(): void {
    const now = performance.now();
    this.expire(now);
    if (this.primaryProbe && !this.primaryProbe.busy) {
      this.primaryProbe
        .query<{ lsn: string }>('SELECT pg_current_wal_lsn()::text AS lsn')
        .then(({ lsn }) => this.samples.push({ at: now, lsn: parseLsn(lsn) }))
        .catch(() => undefined);
    }
    for (const replica of this.replicas) {
      if (!replica.probe.busy) void this.probe(replica);
    }
  }

  private async probe(replica: Replica): Promise<void> {
    let row: { standby: boolean; replay: string | null };
    try {
      row = await replica.probe.query(
        'SELECT pg_is_in_recovery() AS standby, pg_last_wal_replay_lsn()::text AS replay',
      );
    } catch (error) {
      replica.lagMs = undefined;
      this.setState(replica, 'unreachable', error);
      this.rebuildRotation();
      return;
    }
    replica.polledAt = performance.now();
    if (!row.standby || row.replay === null) {
      // a promoted or independent server no longer replays the primary's writes
      replica.lagMs = undefined;
      this.setState(replica, 'not a standby');
    } else if (this.samples.length > 0) {
      replica.replayLsn = parseLsn(row.replay);
      const behind = this.samples.find((sample) => sample.lsn > replica.replayLsn);
      replica.lagMs = behind ? Math.round(replica.polledAt - behind.at) : 0;
      if (!this.closed) replica.connect(() => this.replicaDataSource(replica.url));
      if (replica.lagMs > this.maxLagMs) this.setState(replica, 'lagging');
      else this.setState(replica, replica.dataSource ? 'in rotation' : 'starting');
    }
    this.rebuildRotation();
  }

  /**
   * Drops primary positions no lag needs any more: a replica in the rotation lags at most
   * `maxLagMs`, as of a probe at most `staleAfterMs` old, so it has replayed every position
   * read before `cutoff`.
   */
  private expire(now: number): void {
    const cutoff = now - this.maxLagMs - this.staleAfterMs;
    // kept a little longer than the cutoff, so a replica behind all of them still lags too much
    const keepAfter = cutoff - this.pollMs;
    const first = this.samples.findIndex((sample) => sample.at >= keepAfter);
    if (first > 0) this.samples = this.samples.slice(first);
  }

  private newProbe(url: string): Probe {
    return new Probe(url, this.staleAfterMs, this.options.config.connectTimeoutMs);
  }

  private replicaDataSource(url: string): DataSource {
    const options = buildDataSourceOptions(
      {
        ...this.options,
        config: { ...this.options.config, migrationsRun: false },
      },
      url,
    );
    // a standby is read-only: TypeORM must not try to create extensions there
    return new DataSource({ ...(options as PostgresConnectionOptions), installExtensions: false });
  }

  private rebuildRotation(): void {
    this.inRotation = this.replicas.filter(
      (replica): replica is Replica & { dataSource: DataSource } =>
        replica.state === 'in rotation' && replica.dataSource !== undefined,
    );
  }

  /** One log line per change of state, not one per probe. */
  private setState(replica: Replica, state: DatabaseReplicaState, error?: unknown): void {
    if (replica.state === state) return;
    const previous = replica.state;
    replica.state = state;
    if (state === 'in rotation') {
      this.logger.log(`replica ${replica.name} in rotation (was ${previous})`);
    } else {
      this.logger.warn(
        { err: error, lagMs: replica.lagMs },
        `replica ${replica.name} out of rotation: ${state}`,
      );
    }
  }
}
