export { DatabaseHealthIndicator } from './database.indicator';
export { DatabasePoolsHealthIndicator } from './database-pools.indicator';
export { EventLoopHealthIndicator } from './event-loop.indicator';
export { RedisHealthIndicator } from './redis.indicator';
