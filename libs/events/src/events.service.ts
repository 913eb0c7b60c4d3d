import { Injectable } from '@nestjs/common';

/** The class of an event; its instances are what {@link DomainEvents.publish} carries. */
export type EventType<E extends object> = abstract new (...args: never[]) => E;

/** Reacts to one event; awaited before `publish` resolves. */
export type EventHandler<E extends object> = (event: E) => Promise<void> | void;

/**
 * In-process domain events: a feature announces what changed as an instance of a class it owns,
 * and another feature reacts to it, so the feature that changes data never imports the ones
 * that derive from it (the dashboard evicts itself when posts or follows change).
 *
 * Handlers run one after another and are awaited: a request that publishes answers only once
 * every reaction is done, so a client reading its own write sees the result. A handler that
 * throws rejects `publish`; handlers whose work is best effort catch their own errors.
 *
 * @example
 * export class PostsChanged { constructor(readonly authorId: number) {} }
 * events.on(PostsChanged, ({ authorId }) => cache.evict([`dashboard:${authorId}`]));
 * await events.publish(new PostsChanged(42));
 */
@Injectable()
export class DomainEvents {
  private readonly handlers = new Map<EventType<object>, EventHandler<object>[]>();

  /** Calls `handler` for every event of `type` published from now on (not for subclasses). */
  on<E extends object>(type: EventType<E>, handler: EventHandler<E>): void {
    const list = this.handlers.get(type) ?? [];
    list.push(handler as EventHandler<object>);
    this.handlers.set(type, list);
  }

  /** Runs every handler of the event's class in the order they were registered. */
  async publish(event: object): Promise<void> {
    const handlers = this.handlers.get(event.constructor as EventType<object>);
    if (handlers === undefined) return;
    for (const handler of handlers) await handler(event);
  }
}
