/** One Redis server, or one of a topology's seed nodes. */
export interface RedisNode {
  host: string;
  port: number;
}

/** One server (`REDIS_URL`). */
export interface RedisServerOptions {
  /** @example 'redis://:secret@127.0.0.1:6379' */
  url: string;
}

/**
 * A primary and its replicas watched by Redis Sentinel (`REDIS_SENTINELS`,
 * `REDIS_SENTINEL_MASTER`): the app asks the sentinels where the primary is and follows its
 * failovers without a restart.
 */
export interface RedisSentinelOptions {
  /** A few sentinels to ask first; the rest are learnt from them. */
  sentinels: RedisNode[];
  /**
   * The name the sentinels monitor the primary under.
   * @default 'mymaster'
   */
  masterName: string;
  /**
   * `requirepass` of the primary and its replicas (`REDIS_SENTINEL_MASTER_PASSWORD`); none when
   * unset.
   */
  password?: string;
  /** ACL user the sentinels are asked as (`REDIS_SENTINEL_USERNAME`); needs a password. */
  sentinelUsername?: string;
  /**
   * The sentinels' own `requirepass` (`REDIS_SENTINEL_PASSWORD`), which may differ from the
   * data nodes'; none when unset.
   */
  sentinelPassword?: string;
}

/** Redis Cluster (`REDIS_CLUSTER_NODES`): the slot map is learnt from these seed nodes. */
export interface RedisClusterOptions {
  clusterNodes: RedisNode[];
  /** `requirepass` of every node (`REDIS_CLUSTER_PASSWORD`); none when unset. */
  password?: string;
}

/**
 * Where the app's Redis is: exactly one topology, chosen by which property is present.
 * Parsed once from the environment (`parseEnvironment`) and passed to every lib that uses
 * Redis, so the cache, the limiter and readiness always talk to the same Redis.
 */
export type RedisConnectionOptions =
  RedisServerOptions | RedisSentinelOptions | RedisClusterOptions;

/** How a connection behaves while Redis is slow or away; durations in milliseconds. */
export interface RedisClientPolicy {
  /**
   * A connection attempt (and the first wait for a ready client) gives up after this.
   * @default 1_000
   */
  connectTimeoutMs?: number;
  /**
   * Reconnection backs off exponentially from 50 ms up to this, with jitter.
   * @default 1_000
   */
  maxReconnectDelayMs?: number;
  /**
   * Commands written and not answered yet, at most: a Redis that stops answering (but keeps
   * the connection) then costs bounded memory, and further commands fail at once.
   * @default 10_000
   */
  maxPendingCommands?: number;
}
