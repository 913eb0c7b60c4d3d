import { Inject, Injectable, Logger, OnModuleDestroy, OnModuleInit } from '@nestjs/common';
import { HealthIndicatorService } from '@nestjs/terminus';
import { createClient } from '@redis/client';
import { CHECK, DEFAULT_PING_TIMEOUT_MS, REDIS_MAX_RECONNECT_DELAY_MS } from '../health.constants';
import { HEALTH_MODULE_OPTIONS } from '../health.module-definition';
import { withTimeout } from '../health.timeout';
import { HealthModuleOptions } from '../interfaces';

/**
 * Pings Redis (when configured) over its own connection with the offline queue off: while
 * Redis is away a ping fails at once instead of waiting in a queue, and the client keeps
 * reconnecting in the background, so readiness comes back by itself.
 */
@Injectable()
export class RedisHealthIndicator implements OnModuleInit, OnModuleDestroy {
  private readonly logger = new Logger(RedisHealthIndicator.name);
  private readonly timeoutMs: number;
  private client?: ReturnType<typeof createClient>;
  private lastError = 'not connected yet';

  constructor(
    @Inject(HEALTH_MODULE_OPTIONS) private readonly options: HealthModuleOptions,
    private readonly indicators: HealthIndicatorService,
  ) {
    this.timeoutMs = options.pingTimeoutMs ?? DEFAULT_PING_TIMEOUT_MS;
  }

  /** Whether readiness checks Redis at all (`REDIS_URL` set). */
  get enabled(): boolean {
    return this.options.redisUrl !== undefined;
  }

  onModuleInit(): void {
    if (!this.options.redisUrl) return;
    this.client = createClient({
      url: this.options.redisUrl,
      disableOfflineQueue: true,
      socket: {
        connectTimeout: this.timeoutMs,
        reconnectStrategy: (retries) => Math.min(100 * 2 ** retries, REDIS_MAX_RECONNECT_DELAY_MS),
      },
    });
    this.client.on('error', (error: Error) => {
      if (error.message !== this.lastError)
        this.logger.debug({ err: error }, 'redis health connection');
      this.lastError = error.message;
    });
    // Not awaited: the app starts (and reports not ready) while Redis is away.
    this.client.connect().catch(() => undefined);
  }

  async check() {
    const indicator = this.indicators.check(CHECK.redis);
    if (!this.client?.isReady) return indicator.down({ message: this.lastError });
    try {
      await withTimeout(this.client.ping(), this.timeoutMs);
      return indicator.up();
    } catch (error) {
      return indicator.down({ message: (error as Error).message });
    }
  }

  onModuleDestroy(): void {
    this.client?.destroy();
  }
}
