export * from './interfaces';
export {
  DEFAULT_SENTINEL_MASTER,
  REDIS_PRIMARY_CHANGES_METRIC,
  REDIS_UNAVAILABLE_METRIC,
} from './redis.constants';
export { describeRedis, type RedisCommands, RedisConnection } from './redis-connection';
export { RedisCommandTimeoutError, withinTimeout } from './redis-timeout';
