import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { Logger } from '@nestjs/common';
import { CACHE_INVALIDATION_CHANNEL } from '../cache.constants';
import { RedisConnection } from '@app/redis';
import { RedisTier } from '../redis';

interface InvalidationMessage {
  /** The publishing process, which has already dropped its own copies. */
  origin: string;
  keys: string[];
}

/**
 * Keeps every process's L1 coherent: a write publishes the keys it changed on a Redis
 * channel, and every other process drops its in-process copies. Subscribing needs a
 * connection of its own (a subscribed connection runs no other command). On Redis Cluster the
 * channel is sharded (`SPUBLISH` / `SSUBSCRIBE`): the channel's master carries it, where
 * plain pub/sub would copy every message to every node of the cluster.
 */
export class InvalidationBus {
  private readonly origin = randomUUID();
  private readonly subscriber: RedisConnection;
  private readonly logger = new Logger('Cache');
  /** Our `SUBSCRIBE` (`SSUBSCRIBE` on Redis Cluster) succeeded once. */
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
    this.subscriber = tier.connection.duplicate('cache-invalidation');
    this.subscriber.on('down', () => (this.connected = false));
    this.subscriber.on('ready', () => this.onReady());
  }

  /** Messages reach this process now. */
  get ready(): boolean {
    return this.listening && this.connected;
  }

  /** Connects and subscribes, waiting at most the connect timeout (the client keeps retrying). */
  async start(): Promise<void> {
    void this.subscriber.connect();
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
    this.subscriber.destroy();
  }

  /**
   * Subscribes on every `ready`, and whatever was published while we were away is lost. A
   * server's connection renews its subscription by itself (subscribing again changes
   * nothing); on Redis Cluster the sharded subscription lives on the channel's master, and
   * after a failover only a new `SSUBSCRIBE` finds the promoted replica.
   */
  private onReady(): void {
    this.subscribing ??= this.subscribe().finally(() => (this.subscribing = undefined));
  }

  private async subscribe(): Promise<void> {
    const { client, cluster } = this.subscriber;
    try {
      if (cluster) await client.sSubscribe(CACHE_INVALIDATION_CHANNEL, this.receive);
      else await client.subscribe(CACHE_INVALIDATION_CHANNEL, this.receive);
      this.listening = true;
      this.connected = true;
      this.onResubscribed();
    } catch (error) {
      this.logger.warn(`invalidation bus not subscribed yet: ${(error as Error).message}`);
    }
  }

  private readonly receive = (raw: string): void => {
    try {
      const message = JSON.parse(raw) as InvalidationMessage;
      if (message.origin !== this.origin) this.onInvalidate(message.keys);
    } catch {
      this.logger.warn('ignored a malformed invalidation message');
    }
  };
}
