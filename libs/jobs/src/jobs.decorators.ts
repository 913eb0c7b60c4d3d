import { applyDecorators, Injectable, SetMetadata } from '@nestjs/common';
import { JOB_HANDLER_METADATA } from './jobs.constants';
import { JobHandlerOptions, JobType } from './interfaces';

/** Metadata stored by `@JobHandler`. */
export interface JobHandlerMetadata {
  type: string;
  options: Required<JobHandlerOptions>;
}

/**
 * A typed job type.
 *
 * @example
 * export const WELCOME_JOB = defineJob<{ userId: number }, void>('welcome-notification');
 */
export function defineJob<Payload extends object, Result>(name: string): JobType<Payload, Result> {
  return { name };
}

/**
 * Marks a provider as the handler of one job type (compare `@nestjs/bullmq`'s `@Processor`).
 * The class implements `JobHandlerInstance`; list it among a module's providers.
 *
 * @example
 * @JobHandler(WELCOME_JOB, { concurrency: 4, maxAttempts: 5 })
 * export class WelcomeHandler implements JobHandlerInstance<{ userId: number }, void> { … }
 */
export function JobHandler<Payload extends object, Result>(
  type: JobType<Payload, Result>,
  options: JobHandlerOptions = {},
): ClassDecorator {
  const metadata: JobHandlerMetadata = {
    type: type.name,
    options: {
      concurrency: options.concurrency ?? 1,
      maxAttempts: options.maxAttempts ?? 3,
      retryDelaySeconds: options.retryDelaySeconds ?? 1,
    },
  };
  return applyDecorators(Injectable(), SetMetadata(JOB_HANDLER_METADATA, metadata));
}
