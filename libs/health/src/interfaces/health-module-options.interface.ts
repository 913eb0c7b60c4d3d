import type { RedisConnectionOptions } from '@app/redis';

/** Options of {@link HealthModule}. */
export interface HealthModuleOptions {
  /**
   * Redis to ping for readiness (one server, or the primary on Sentinel); not checked when
   * unset.
   */
  redisConnection?: RedisConnectionOptions;
  /**
   * Whether readiness fails while Redis is unreachable. When `false`, Redis being down leaves
   * readiness at 200 with Redis listed under `degraded`: the app serves without it.
   * @default false
   */
  redisRequired?: boolean;
  /**
   * Whether readiness answers carry the drivers' failure messages, which may name hosts,
   * addresses and users. `false` (production) gives a cause from a fixed list instead
   * (`connection refused`, `timed out`, `authentication failed`, …); the log keeps the full
   * message either way.
   * @default true
   */
  detailedErrors?: boolean;
  /**
   * Longest a readiness ping (database, Redis) may take before it counts as down.
   * @default 1000
   */
  pingTimeoutMs?: number;
  /**
   * Readiness fails while the event loop's recent delay (p99) exceeds this.
   * @default 1000
   */
  readyMaxEventLoopDelayMs?: number;
  /**
   * Liveness fails while the event loop's recent delay (p99) exceeds this: the process is
   * effectively stuck and a restart is the cure.
   * @default 5000
   */
  liveMaxEventLoopDelayMs?: number;
  /**
   * Liveness fails while the used heap exceeds this share of V8's heap limit.
   * @default 0.95
   */
  maxHeapUsedRatio?: number;
}
