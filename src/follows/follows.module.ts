import { Module } from '@nestjs/common';
import { EventsModule } from '@app/events';
import { FollowsController } from './follows.controller';
import { FollowsRepository } from './follows.repository';

@Module({
  imports: [EventsModule],
  controllers: [FollowsController],
  providers: [FollowsRepository],
  exports: [FollowsRepository],
})
export class FollowsModule {}
