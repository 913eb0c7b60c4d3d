import { Module } from '@nestjs/common';
import { FollowsController } from './follows.controller';
import { FollowsRepository } from './follows.repository';

@Module({
  controllers: [FollowsController],
  providers: [FollowsRepository],
  exports: [FollowsRepository],
})
export class FollowsModule {}
