export { DatabaseHealthIndicator } from './database.indicator';
export { EventLoopHealthIndicator } from './event-loop.indicator';
export { RedisHealthIndicator } from './redis.indicator';
