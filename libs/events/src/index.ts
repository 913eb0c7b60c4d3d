export { EventsModule } from './events.module';
export { DomainEvents, type EventHandler, type EventType } from './events.service';
