import { PostDto } from '../../posts/dto/post.dto';
import { UserDto } from './user.dto';

export class DashboardDto {
  user!: UserDto;
  /** the user's 10 newest posts */
  recentPosts!: PostDto[];
  followerCount!: number;
  followingCount!: number;
  /** the 10 newest followers */
  followers!: UserDto[];
}
