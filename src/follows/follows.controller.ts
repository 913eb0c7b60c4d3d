import {
  BadRequestException,
  Controller,
  Delete,
  HttpCode,
  NotFoundException,
  Param,
  Put,
} from '@nestjs/common';
import { ApiTags } from '@nestjs/swagger';
import { CacheEvict } from '@app/cache';
import { ParseIdPipe } from '@app/http';
import { Authenticated, CurrentUser } from '../auth/auth.decorators';
import { AuthenticatedUser } from '../auth/authenticated-user';
import { DASHBOARD_CACHE_KEY, DASHBOARD_OF_CALLER } from '../users/users.cache';
import { FolloweeMissingError, FollowsRepository } from './follows.repository';

/** Both dashboards count the follow; the followee's lists the follower. */
const FOLLOW_EVICTS = { keys: [DASHBOARD_CACHE_KEY, DASHBOARD_OF_CALLER] };

@ApiTags('follows')
@Controller('users/:id/follow')
@Authenticated()
export class FollowsController {
  constructor(private readonly follows: FollowsRepository) {}

  @Put()
  @HttpCode(204)
  @CacheEvict(FOLLOW_EVICTS)
  async follow(
    @Param('id', ParseIdPipe) id: number,
    @CurrentUser() user: AuthenticatedUser,
  ): Promise<void> {
    if (id === user.id) throw new BadRequestException('you cannot follow yourself');
    try {
      await this.follows.follow(user.id, id);
    } catch (error) {
      if (error instanceof FolloweeMissingError)
        throw new NotFoundException(`user ${id} not found`);
      throw error;
    }
  }

  @Delete()
  @HttpCode(204)
  @CacheEvict(FOLLOW_EVICTS)
  async unfollow(
    @Param('id', ParseIdPipe) id: number,
    @CurrentUser() user: AuthenticatedUser,
  ): Promise<void> {
    if (id === user.id) throw new BadRequestException('you cannot follow yourself');
    await this.follows.unfollow(user.id, id);
  }
}
