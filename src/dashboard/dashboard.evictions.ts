import { Injectable, Logger, OnModuleInit } from '@nestjs/common';
import { CacheService } from '@app/cache';
import { DomainEvents } from '@app/events';
import { FollowsChanged } from '../follows/follows.events';
import { PostsChanged } from '../posts/posts.events';
import { dashboardCacheKey } from './dashboard.cache';

/**
 * Every write that changes a dashboard, in one list: posts and follows announce their changes
 * and the dashboard evicts what shows them, so neither feature knows the dashboard exists.
 * (Profile changes evict by tag: see `dashboardTags`.)
 */
@Injectable()
export class DashboardEvictions implements OnModuleInit {
  private readonly logger = new Logger(DashboardEvictions.name);

  constructor(
    private readonly events: DomainEvents,
    private readonly cache: CacheService,
  ) {}

  onModuleInit(): void {
    this.events.on(PostsChanged, ({ authorId }) => this.evict([authorId]));
    // Both dashboards count the follow; the followee's lists the follower.
    this.events.on(FollowsChanged, ({ followerId, followeeId }) =>
      this.evict([followeeId, followerId]),
    );
  }

  /** Best effort, as a cache write after a request is: the lifetime bounds what a failure leaves. */
  private async evict(userIds: number[]): Promise<void> {
    try {
      await this.cache.evict(userIds.map(dashboardCacheKey));
    } catch (error) {
      this.logger.warn(`dashboard eviction for users ${userIds.join(', ')} failed: ${error}`);
    }
  }
}
