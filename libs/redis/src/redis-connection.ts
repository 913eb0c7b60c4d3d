import { EventEmitter } from 'node:events';
import { setTimeout as sleep } from 'node:timers/promises';
import { Logger } from '@nestjs/common';
import calculateSlot from 'cluster-key-slot';
import {
  createClient,
  createCluster,
  createSentinel,
  ErrorReply,
  RedisClientOptions,
  RedisClientType,
  RedisClusterType,
  RedisScripts,
  RedisSentinelType,
} from '@redis/client';
import {
  CLUSTER_REFRESH_INTERVAL_MS,
  DEFAULT_CONNECT_TIMEOUT_MS,
  DEFAULT_MAX_PENDING_COMMANDS,
  DEFAULT_MAX_RECONNECT_DELAY_MS,
  PRIMARY_PROBE_INTERVAL_MS,
  SENTINEL_CONNECT_TIMEOUT_MS,
  SENTINEL_REBUILD_AFTER_MS,
  SENTINEL_SCAN_INTERVAL_MS,
} from './redis.constants';
import { countPrimaryChange, countUnavailable } from './redis.metrics';
import { withinTimeout } from './redis-timeout';
import {
  RedisClientPolicy,
  RedisConnectionOptions,
  RedisNode,
  RedisSentinelOptions,
} from './interfaces';

/**
 * The commands a connection's users send: their scripts, by name, and the few plain commands
 * the app uses. The same on every topology (node-redis routes them to the primary, or to the
 * slot's node).
 */
export type RedisCommands<S extends RedisScripts = Record<never, never>> = Pick<
  RedisClientType<Record<never, never>, Record<never, never>, S>,
  keyof S | 'get' | 'publish' | 'ping' | 'subscribe' | 'unsubscribe' | 'sPublish' | 'sSubscribe'
>;

/** Which server a connection talks to, for logs: `host:port`, or the sentinels' master name. */
export function describeRedis(options: RedisConnectionOptions): string {
  if ('url' in options) {
    const url = new URL(options.url);
    return `${url.hostname}:${url.port || 6379}`;
  }
  if ('sentinels' in options) return `sentinel master ${options.masterName}`;
  return `cluster of ${options.clusterNodes.map(nodeName).join(',')}`;
}

/**
 * Events of a {@link RedisConnection}: `down` once per outage (never per failed command),
 * `ready` on the first readiness and after each recovery.
 */
interface RedisConnectionEvents {
  down: [error: Error];
  ready: [];
}

type Underlying =
  | { kind: 'server'; client: RedisClientType }
  | {
      kind: 'sentinel';
      client: RedisSentinelType;
      /** Makes its clients stop reconnecting, so a rediscovery stuck on one of them ends. */
      abandon(): void;
    }
  | { kind: 'cluster'; client: RedisClusterType };

/** The primary a process last announced, so a failover is logged once, not per connection. */
let announcedPrimary: string | undefined;

const nodeName = (node: RedisNode): string => `${node.host}:${node.port}`;

/**
 * One connection to the app's Redis, whatever its topology, with the one policy every user
 * of Redis shares: no offline queue (while Redis is away a command fails at once instead of
 * waiting, and nothing stale is replayed afterwards), a bounded queue of pending commands, a
 * connect timeout and exponential reconnection with jitter. Users send commands through
 * {@link client} and bound each one's wait with `withinTimeout`.
 *
 * On Sentinel, node-redis's `createSentinel` finds the primary and follows failovers; this
 * class adds what it lacks for a server under load: while the primary is unreachable its
 * commands retry rediscovery in a loop, so they are refused here instead until a probe of the
 * primary (the new one, after a failover) answers.
 *
 * @example
 * const connection = new RedisConnection({ url: 'redis://127.0.0.1:6379' }, 'cache', SCRIPTS);
 * connection.on('down', (error) => logger.warn(`Redis unreachable: ${error.message}`));
 * await connection.connect();
 * await withinTimeout(connection.client.cacheRead(key), 100);
 */
export class RedisConnection<
  S extends RedisScripts = Record<never, never>,
> extends EventEmitter<RedisConnectionEvents> {
  /** The commands; a command fails at once while {@link isReady} is false. */
  readonly client: RedisCommands<S>;
  /** On Sentinel, replaced by a new client when the old one stays on a lost primary. */
  private underlying: Underlying;
  private readonly connectTimeoutMs: number;
  private readonly logger = new Logger('Redis');
  private primaryReachable = false;
  private down = false;
  private closed = false;
  private probe?: NodeJS.Timeout;
  private probing = false;
  /** When the primary was last found unreachable after being reachable (Sentinel). */
  private downSince = 0;

  /**
   * @param name the user, in metrics and logs (`cache`, `rate-limit`, …)
   * @param scripts registered on the connection and called by name
   */
  constructor(
    readonly options: RedisConnectionOptions,
    readonly name: string,
    private readonly scripts?: S,
    private readonly policy: RedisClientPolicy = {},
  ) {
    super();
    this.connectTimeoutMs = policy.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS;
    this.underlying = this.createUnderlying();
    this.client = this.commandsOf(this.underlying);
  }

  /** Connected to a server (on Sentinel: to the current primary) and taking commands. */
  get isReady(): boolean {
    const { kind, client } = this.underlying;
    if (kind === 'sentinel') return this.primaryReachable && client.isReady;
    // node-redis's cluster reports only whether it is open; each node reconnects on its own
    return kind === 'cluster' ? client.isOpen && !this.down : client.isReady;
  }

  /** Redis Cluster: a script's keys must share a hash slot, and pub/sub is sharded. */
  get cluster(): boolean {
    return this.underlying.kind === 'cluster';
  }

  /** The hash slot of `key` on Redis Cluster (where its commands go); `undefined` elsewhere. */
  slotOf(key: string): number | undefined {
    return this.cluster ? calculateSlot(key) : undefined;
  }

  /**
   * Connects, waiting at most the connect timeout: the app starts without Redis and uses it
   * once the connection (which keeps retrying in the background) gets through.
   */
  async connect(): Promise<void> {
    const opened = this.open();
    await Promise.race([opened, sleep(this.connectTimeoutMs, undefined, { ref: false })]);
  }

  /** Another connection to the same Redis, with the same policy (e.g. for a subscriber). */
  duplicate(name: string): RedisConnection {
    return new RedisConnection(this.options, name, undefined, this.policy);
  }

  destroy(): void {
    this.closed = true;
    clearInterval(this.probe);
    release(this.underlying);
  }

  private createUnderlying(): Underlying {
    const maxDelayMs = this.policy.maxReconnectDelayMs ?? DEFAULT_MAX_RECONNECT_DELAY_MS;
    const backoff = (retries: number) =>
      Math.min(50 * 2 ** retries, maxDelayMs) + Math.random() * 50;
    const nodeOptions = {
      disableOfflineQueue: true,
      commandsQueueMaxLength: this.policy.maxPendingCommands ?? DEFAULT_MAX_PENDING_COMMANDS,
      socket: {
        connectTimeout: this.connectTimeoutMs,
        reconnectStrategy: backoff,
      },
    } satisfies RedisClientOptions;
    const options = this.options;
    if ('url' in options) {
      const client = createClient({ ...nodeOptions, url: options.url, scripts: this.scripts });
      client.on('error', (error: Error) => this.markDown(error));
      client.on('ready', () => this.markReady());
      return { kind: 'server', client: client as unknown as RedisClientType };
    }
    if ('sentinels' in options) return this.createSentinel(options, nodeOptions, backoff);
    const cluster = createCluster({
      rootNodes: options.clusterNodes.map((node) => ({ socket: node })),
      defaults: { ...nodeOptions, password: options.password },
      scripts: this.scripts,
    });
    cluster.on('error', (error: Error) => this.markDown(error));
    cluster.on('node-error', (error: Error) => this.markDown(error));
    return { kind: 'cluster', client: cluster as unknown as RedisClusterType };
  }

  private createSentinel(
    options: RedisSentinelOptions,
    nodeClientOptions: RedisClientOptions,
    backoff: (retries: number) => number,
  ): Underlying {
    let abandoned = false;
    // node-redis awaits a new primary's connection inside its rediscovery, and a client that
    // reconnects forever to a primary that is gone holds that rediscovery (and every later
    // one) for good; an abandoned client's clients give up instead, so it can be destroyed.
    // The message is the one node-redis's rediscovery loop takes for expected: any other it
    // writes to stdout with console.log, once per abandoned client.
    const reconnectStrategy = (retries: number) =>
      abandoned ? new Error('no valid master node') : backoff(retries);
    const sentinel = createSentinel({
      name: options.masterName,
      sentinelRootNodes: options.sentinels,
      nodeClientOptions: {
        ...nodeClientOptions,
        password: options.password,
        socket: { ...nodeClientOptions.socket, reconnectStrategy },
      },
      sentinelClientOptions: {
        username: options.sentinelUsername,
        password: options.sentinelPassword,
        // Asking a sentinel is never on a request's path (commands wait for nothing while the
        // primary is sought), so a busy process's event-loop lag must not fail it.
        socket: { connectTimeout: SENTINEL_CONNECT_TIMEOUT_MS, reconnectStrategy },
      },
      // The sentinels' notifications miss some failovers (node-redis listens for
      // `switch-master`, Sentinel publishes `+switch-master`): a scan finds the new primary.
      scanInterval: SENTINEL_SCAN_INTERVAL_MS,
      scripts: this.scripts,
    });
    // Sentinels unreachable during a scan: another is tried, and the scan repeats.
    sentinel.on('error', () => undefined);
    sentinel.on('topology-change', (event: { type: string; node?: RedisNode }) => {
      if (event.type !== 'MASTER_CHANGE' || event.node === undefined) return;
      const primary = nodeName(event.node);
      if (announcedPrimary !== undefined && announcedPrimary !== primary) {
        countPrimaryChange(this.name);
        this.logger.warn(`Redis primary ${options.masterName} moved to ${primary}`);
      }
      announcedPrimary = primary;
    });
    return {
      kind: 'sentinel',
      client: sentinel as unknown as RedisSentinelType,
      abandon: () => (abandoned = true),
    };
  }

  /**
   * The commands of the underlying client. On Sentinel, a command that fails without a reply
   * from Redis, or gets none within the connect timeout, takes the primary for lost (node-redis
   * reports nothing when its primary dies), and commands are then refused at once until a probe
   * reaches the primary the sentinels name: node-redis would retry each one in a loop of
   * rediscoveries until a primary answers, and run it late.
   */
  private commandsOf(underlying: Underlying): RedisCommands<S> {
    const { kind, client } = underlying;
    if (kind !== 'sentinel') return client as unknown as RedisCommands<S>;
    return new Proxy(client, {
      get: (_target, property) => {
        // the client of the moment: a replaced one is never used again
        const current = this.underlying.client;
        const value: unknown = Reflect.get(current, property);
        if (typeof value !== 'function') return value;
        return (...args: unknown[]) => {
          if (!this.isReady) {
            return Promise.reject(
              new Error(`Redis primary (${describeRedis(this.options)}) unavailable`),
            );
          }
          const result: unknown = (value as (...a: unknown[]) => unknown).apply(current, args);
          if (result instanceof Promise) this.watch(result);
          return result;
        };
      },
    }) as unknown as RedisCommands<S>;
  }

  private watch(command: Promise<unknown>): void {
    const lost = (error: Error) => this.markDown(error);
    const timer = setTimeout(
      lost,
      this.connectTimeoutMs,
      new Error(`Redis primary did not answer within ${this.connectTimeoutMs} ms`),
    );
    command.then(
      () => clearTimeout(timer),
      (error: unknown) => {
        clearTimeout(timer);
        if (!(error instanceof ErrorReply)) lost(error as Error);
      },
    );
  }

  /** Opens the underlying client; on Sentinel, until the sentinels name a reachable primary. */
  private async open(): Promise<void> {
    const { kind, client } = this.underlying;
    if (kind === 'server') {
      await client.connect().catch((error: Error) => this.markDown(error));
      return;
    }
    if (kind === 'cluster') {
      await client.connect().then(
        () => this.markReady(),
        (error: Error) => this.markDown(error),
      );
      return;
    }
    while (!this.closed && this.underlying.client === client) {
      try {
        await client.connect();
        if (this.underlying.client === client) this.markReady();
        return;
      } catch (error) {
        // node-redis gives up after its rediscovery attempts and stays closed: start over
        this.markDown(error as Error);
        await client.destroy().catch(() => undefined);
        await sleep(this.policy.maxReconnectDelayMs ?? DEFAULT_MAX_RECONNECT_DELAY_MS);
      }
    }
  }

  private markDown(error: Error): void {
    if (this.underlying.kind === 'sentinel') {
      if (this.primaryReachable || this.downSince === 0) this.downSince = Date.now();
      this.primaryReachable = false;
      this.probe ??= setInterval(() => void this.probePrimary(), PRIMARY_PROBE_INTERVAL_MS);
    }
    if (this.underlying.kind === 'cluster' && !this.closed) {
      this.probe ??= setInterval(() => void this.refreshSlots(), CLUSTER_REFRESH_INTERVAL_MS);
    }
    if (this.down || this.closed) return;
    this.down = true;
    countUnavailable(this.name);
    this.emit('down', error);
  }

  private markReady(): void {
    if (this.underlying.kind !== 'server') {
      this.primaryReachable = true;
      clearInterval(this.probe);
      this.probe = undefined;
    }
    this.down = false;
    this.emit('ready');
  }

  /**
   * While a node of the cluster fails: asks the cluster for its slot map again, and is ready
   * once every master of the map answers. node-redis learns of a new slot map only from a
   * MOVED or ASK reply, which a dead master never sends: its replica would be promoted and
   * the slots it serves stay unreachable here until a restart. The refresh also drops the
   * dead node's connections, and with them the sharded subscriptions it held (the invalidation
   * bus subscribes again on `ready`).
   */
  private async refreshSlots(): Promise<void> {
    const { kind, client } = this.underlying;
    if (kind !== 'cluster' || this.closed || this.probing) return;
    this.probing = true;
    try {
      const clients = client.masters.map((master) => master.client);
      const live = clients.find((candidate) => candidate?.isReady) ?? clients.find(Boolean);
      if (live === undefined) return;
      await withinTimeout(client._slots.rediscover(live), this.connectTimeoutMs);
      const masters = client.masters.map((master) => master.client);
      if (masters.length > 0 && masters.every((master) => master?.isReady) && !this.closed) {
        this.markReady();
      }
    } catch {
      // no node answered: the next refresh tries again
    } finally {
      this.probing = false;
    }
  }

  /**
   * A new Sentinel client in place of one that still counts itself connected to a primary
   * that has not answered for {@link SENTINEL_REBUILD_AFTER_MS}: node-redis can stay on a lost
   * primary for good (a rediscovery that waits on a connection to it never ends, and every
   * later one waits on that). The new client asks the sentinels afresh.
   */
  private replaceSentinel(): void {
    const stale = this.underlying;
    this.logger.warn(
      `${this.name}: the primary of ${describeRedis(this.options)} has not answered for ` +
        `${SENTINEL_REBUILD_AFTER_MS} ms; asking the sentinels anew on a new connection`,
    );
    this.underlying = this.createUnderlying();
    this.downSince = Date.now();
    release(stale);
    void this.open();
  }

  /** Whether the primary the sentinels named last answers a PING on a connection of its own. */
  private async probePrimary(): Promise<void> {
    const { kind, client } = this.underlying;
    if (kind !== 'sentinel' || this.closed || this.probing) return;
    if (client.isReady && Date.now() - this.downSince >= SENTINEL_REBUILD_AFTER_MS) {
      this.replaceSentinel();
      return;
    }
    const primary = client.getMasterNode();
    if (primary === undefined) return;
    this.probing = true;
    const probe = createClient({
      password: 'sentinels' in this.options ? this.options.password : undefined,
      socket: { ...primary, connectTimeout: this.connectTimeoutMs, reconnectStrategy: false },
    });
    probe.on('error', () => undefined);
    try {
      await withinTimeout(
        probe.connect().then(() => probe.ping()),
        this.connectTimeoutMs,
      );
      if (!this.primaryReachable && !this.closed) this.markReady();
    } catch {
      // still away: the next probe tries again
    } finally {
      if (probe.isOpen) probe.destroy();
      this.probing = false;
    }
  }
}

/** Closes a client that is no longer used, without waiting on it (it may be stuck). */
function release(underlying: Underlying): void {
  if (underlying.kind === 'sentinel') underlying.abandon();
  const { client } = underlying;
  if (client.isOpen) void Promise.resolve(client.destroy()).catch(() => undefined);
}
