export { DatabaseHealthIndicator } from './database.indicator';
export { DatabasePoolsHealthIndicator } from './database-pools.indicator';
export { DatabaseReplicasHealthIndicator } from './database-replicas.indicator';
export { EventLoopHealthIndicator } from './event-loop.indicator';
export { RedisHealthIndicator } from './redis.indicator';
