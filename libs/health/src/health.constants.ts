/** Names of the parts checked, as they appear in `details` and in a 503's `message`. */
export const CHECK = {
  database: 'database',
  databasePools: 'databasePools',
  databaseReplicas: 'databaseReplicas',
  redis: 'redis',
  eventLoop: 'eventLoop',
  heap: 'heap',
  shutdown: 'shutdown',
} as const;

export const DEFAULT_PING_TIMEOUT_MS = 1_000;
export const DEFAULT_READY_MAX_EVENT_LOOP_DELAY_MS = 1_000;
export const DEFAULT_LIVE_MAX_EVENT_LOOP_DELAY_MS = 5_000;
export const DEFAULT_MAX_HEAP_USED_RATIO = 0.95;

/** Event-loop delay is judged on windows of this length (the last full one and the current). */
export const EVENT_LOOP_WINDOW_MS = 5_000;
