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
import { DomainEvents } from '@app/events';
import { ParseIdPipe } from '@app/http';
import { Authenticated, CurrentUser } from '../auth/auth.decorators';
import { AuthenticatedUser } from '../auth/authenticated-user';
import { FollowsChanged } from './follows.events';
import { FolloweeMissingError, FollowsRepository } from './follows.repository';

@ApiTags('follows')
@Controller('users/:id/follow')
@Authenticated()
export class FollowsController {
  constructor(
    private readonly follows: FollowsRepository,
    private readonly events: DomainEvents,
  ) {}

  @Put()
  @HttpCode(204)
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
    await this.events.publish(new FollowsChanged(user.id, id));
  }

  @Delete()
  @HttpCode(204)
  async unfollow(
    @Param('id', ParseIdPipe) id: number,
    @CurrentUser() user: AuthenticatedUser,
  ): Promise<void> {
    if (id === user.id) throw new BadRequestException('you cannot follow yourself');
    await this.follows.unfollow(user.id, id);
    await this.events.publish(new FollowsChanged(user.id, id));
  }
}
