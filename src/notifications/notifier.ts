import { Injectable, Logger } from '@nestjs/common';

/** One message to one user. */
export interface Notification {
  to: string;
  subject: string;
  text: string;
}

/**
 * Where notifications go. The default only logs them; bind another implementation (mail,
 * SMS, a webhook) in `NotificationsModule` to deliver them.
 */
export abstract class Notifier {
  abstract send(notification: Notification): Promise<void>;
}

/** The default {@link Notifier}: logs each notification (address included) and delivers nothing. */
@Injectable()
export class LoggingNotifier implements Notifier {
  private readonly logger = new Logger(LoggingNotifier.name);

  send(notification: Notification): Promise<void> {
    this.logger.log({ to: notification.to, subject: notification.subject }, 'notification');
    return Promise.resolve();
  }
}
