import { Module } from '@nestjs/common';
import { JobsController } from './jobs.controller';

/** `/api/jobs`: the caller's background jobs (`JobsService` comes from the global `JobsModule`). */
@Module({ controllers: [JobsController] })
export class JobsApiModule {}
