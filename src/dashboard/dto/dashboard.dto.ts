import { PostDto } from '../../posts/dto';
import { UserDto } from '../../users/dto';

export class DashboardDto {
  user!: UserDto;
  /** the user's 10 newest posts */
  recentPosts!: PostDto[];
  followerCount!: number;
  followingCount!: number;
  /** the 10 newest followers */
  followers!: UserDto[];
}
