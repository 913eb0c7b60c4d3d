import { Module } from '@nestjs/common';
import { DomainEvents } from './events.service';

/**
 * Provides the one {@link DomainEvents} bus: Nest makes a module a singleton, so every feature
 * that imports this module publishes to and subscribes on the same instance.
 */
@Module({ providers: [DomainEvents], exports: [DomainEvents] })
export class EventsModule {}
