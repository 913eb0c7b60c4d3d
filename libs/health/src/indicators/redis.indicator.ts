import { Inject, Injectable, Logger, OnModuleDestroy, OnModuleInit } from '@nestjs/common';
import { HealthIndicatorService } from '@nestjs/terminus';
import { RedisConnection } from '@app/redis';
import { CHECK, DEFAULT_PING_TIMEOUT_MS } from '../health.constants';
import { HEALTH_MODULE_OPTIONS } from '../health.module-definition';
import { withTimeout } from '../health.timeout';
import { HealthModuleOptions } from '../interfaces';

/**
 * Pings Redis (when configured) over its own connection with the app's Redis policy: while
 * Redis is away a ping fails at once instead of waiting in a queue, and the connection keeps
 * reconnecting (on Sentinel, following the primary) in the background, so readiness comes
 * back by itself.
 */
@Injectable()
export class RedisHealthIndicator implements OnModuleInit, OnModuleDestroy {
  private readonly logger = new Logger(RedisHealthIndicator.name);
  private readonly timeoutMs: number;
  private connection?: RedisConnection;
  private lastError = 'not connected yet';

  constructor(
    @Inject(HEALTH_MODULE_OPTIONS) private readonly options: HealthModuleOptions,
    private readonly indicators: HealthIndicatorService,
  ) {
    this.timeoutMs = options.pingTimeoutMs ?? DEFAULT_PING_TIMEOUT_MS;
  }

  /** Whether readiness checks Redis at all (a Redis connection is configured). */
  get enabled(): boolean {
    return this.options.redisConnection !== undefined;
  }

  onModuleInit(): void {
    if (!this.options.redisConnection) return;
    this.connection = new RedisConnection(this.options.redisConnection, 'health', undefined, {
      connectTimeoutMs: this.timeoutMs,
    });
    this.connection.on('down', (error) => {
      if (error.message !== this.lastError)
        this.logger.debug({ err: error }, 'redis health connection');
      this.lastError = error.message;
    });
    // Not awaited: the app starts (and reports not ready) while Redis is away.
    void this.connection.connect();
  }

  async check() {
    const indicator = this.indicators.check(CHECK.redis);
    if (!this.connection?.isReady) return indicator.down({ message: this.lastError });
    try {
      await withTimeout(this.connection.client.ping(), this.timeoutMs);
      return indicator.up();
    } catch (error) {
      return indicator.down({ message: (error as Error).message });
    }
  }

  onModuleDestroy(): void {
    this.connection?.destroy();
  }
}
