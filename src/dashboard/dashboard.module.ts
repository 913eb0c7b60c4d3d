import { Module } from '@nestjs/common';
import { EventsModule } from '@app/events';
import { FollowsModule } from '../follows/follows.module';
import { PostsModule } from '../posts/posts.module';
import { UsersModule } from '../users/users.module';
import { DashboardController } from './dashboard.controller';
import { DashboardEvictions } from './dashboard.evictions';
import { DashboardRepository } from './dashboard.repository';
import { DashboardService } from './dashboard.service';

/**
 * `GET /api/users/:id/dashboard`: a view over users, posts and follows. It depends on them and
 * never the other way round; it learns of their writes through domain events.
 */
@Module({
  imports: [EventsModule, UsersModule, PostsModule, FollowsModule],
  controllers: [DashboardController],
  providers: [DashboardRepository, DashboardService, DashboardEvictions],
})
export class DashboardModule {}
