import { Module } from '@nestjs/common';
import { UsersModule } from '../users/users.module';
import { LoggingNotifier, Notifier } from './notifier';
import { WelcomeNotificationHandler } from './welcome-notification.job';

/** Notifications to users, sent from jobs; the channel is the {@link Notifier} bound here. */
@Module({
  imports: [UsersModule],
  providers: [{ provide: Notifier, useClass: LoggingNotifier }, WelcomeNotificationHandler],
})
export class NotificationsModule {}
