import { defineJob, JobContext, JobHandler, JobHandlerInstance } from '@app/jobs';
import { UsersRepository } from '../users/users.repository';
import { Notifier } from './notifier';

export interface WelcomeNotificationPayload {
  userId: number;
}

/** Enqueued by `register` in the transaction that inserts the user. */
export const WELCOME_NOTIFICATION_JOB = defineJob<WelcomeNotificationPayload, void>(
  'welcome-notification',
);

/** Greets a new user through the {@link Notifier}. */
@JobHandler(WELCOME_NOTIFICATION_JOB, { concurrency: 4, maxAttempts: 5 })
export class WelcomeNotificationHandler implements JobHandlerInstance<
  WelcomeNotificationPayload,
  void
> {
  constructor(
    private readonly users: UsersRepository,
    private readonly notifier: Notifier,
  ) {}

  async handle({ payload }: JobContext<WelcomeNotificationPayload>): Promise<void> {
    const user = await this.users.findPrivate(payload.userId);
    // a user deleted before the job ran has nobody left to greet
    if (!user) return;
    await this.notifier.send({
      to: user.email,
      subject: 'Welcome to loadstar',
      text: `Hello ${user.name}, your account is ready.`,
    });
  }
}
