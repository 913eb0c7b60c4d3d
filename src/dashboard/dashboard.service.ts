import { Injectable, NotFoundException } from '@nestjs/common';
import { FollowsRepository } from '../follows/follows.repository';
import { PostsRepository } from '../posts/posts.repository';
import { UsersRepository } from '../users/users.repository';
import { DashboardRepository } from './dashboard.repository';
import { DashboardDto } from './dto';

const DASHBOARD_LIST_SIZE = 10;

@Injectable()
export class DashboardService {
  constructor(
    private readonly dashboards: DashboardRepository,
    private readonly users: UsersRepository,
    private readonly posts: PostsRepository,
    private readonly follows: FollowsRepository,
  ) {}

  /** The parts are independent, so they are read at once on separate pool connections. */
  async dashboard(id: number): Promise<DashboardDto> {
    const [user, recentPosts, followerCount, followingCount, followers] = await Promise.all([
      this.users.findPublic(id),
      this.posts.page({ authorId: id, limit: DASHBOARD_LIST_SIZE }),
      this.follows.countFollowers(id),
      this.follows.countFollowing(id),
      this.dashboards.followers(id, DASHBOARD_LIST_SIZE),
    ]);
    if (!user) throw new NotFoundException(`user ${id} not found`);
    return { user, recentPosts, followerCount, followingCount, followers };
  }
}
