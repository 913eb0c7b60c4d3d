import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { Logger } from '@nestjs/common';
import { CACHE_INVALIDATION_CHANNEL } from '../cache.constants';
import { RedisClient, RedisTier } from './redis-tier';

interface InvalidationMessage {
  /** The publishing process, which has already dropped its own copies. */
  origin: string;
  keys: string[];
}

/**
 * Keeps every process's L1 coherent: a write publishes the keys it changed on a Redis
 * channel, and every other process drops its in-process copies. Subscribing needs a
 * connection of its own (a subscribed connection runs no other command).
 */
export class InvalidationBus {
  private readonly origin = randomUUID();
  private readonly subscriber: RedisClient;
  private readonly logger = new Logger('Cache');
  /** Our `SUBSCRIBE` succeeded once; node-redis renews it by itself on every reconnection. */
  private listening = false;
  private connected = false;
  private subscribing?: Promise<void>;

  /**
   * @param onInvalidate drops the keys another process changed.
   * @param onResubscribed after a lost connection: messages may have been missed meanwhile.
   */
  constructor(
    private readonly tier: RedisTier,
    private readonly connectTimeoutMs: number,
    private readonly onInvalidate: (keys: string[]) => void,
    private readonly onResubscribed: () => void,
  ) {
    this.subscriber = tier.client.duplicate();
    this.subscriber.on('error', () => (this.connected = false));
    this.subscriber.on('ready', () => this.onReady());
  }

  /** Messages reach this process now. */
  get ready(): boolean {
    return this.listening && this.connected;
  }

  /** Connects and subscribes, waiting at most the connect timeout (the client keeps retrying). */
  async start(): Promise<void> {
    this.subscriber.connect().catch(() => undefined);
    const deadline = Date.now() + this.connectTimeoutMs;
    while (!this.ready && Date.now() < deadline) {
      await (this.subscribing ?? sleep(10, undefined, { ref: false }));
    }
  }

  /** Tells the other processes to drop `keys`; resolves once Redis has delivered it. */
  publish(keys: readonly string[]): Promise<void> {
    const message: InvalidationMessage = { origin: this.origin, keys: [...keys] };
    return this.tier.publish(CACHE_INVALIDATION_CHANNEL, JSON.stringify(message));
  }

  close(): void {
    if (this.subscriber.isOpen) this.subscriber.destroy();
  }

  private onReady(): void {
    if (!this.listening) {
      this.subscribing ??= this.subscribe().finally(() => (this.subscribing = undefined));
      return;
    }
    // Renewed before 'ready', but whatever was published while we were away is lost.
    this.connected = true;
    this.onResubscribed();
  }

  private async subscribe(): Promise<void> {
    try {
      await this.subscriber.subscribe(CACHE_INVALIDATION_CHANNEL, (message) =>
        this.receive(message),
      );
      this.listening = true;
      this.connected = true;
      this.onResubscribed();
    } catch (error) {
      this.logger.warn(`invalidation bus not subscribed yet: ${(error as Error).message}`);
    }
  }

  private receive(raw: string): void {
    try {
      const message = JSON.parse(raw) as InvalidationMessage;
      if (message.origin !== this.origin) this.onInvalidate(message.keys);
    } catch {
      this.logger.warn('ignored a malformed invalidation message');
    }
  }
}
