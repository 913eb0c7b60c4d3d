import { Body, Controller, Get, Header, Param, Patch, Query } from '@nestjs/common';
import { ApiQuery, ApiTags } from '@nestjs/swagger';
import { ParseIdPipe, parseIdList } from '@app/http';
import { RateLimit } from '@app/throttler';
import { Authenticated, CurrentUser } from '../auth/auth.decorators';
import { AuthenticatedUser } from '../auth/authenticated-user';
import { DashboardDto, MeDto, UpdateUserDto, UserDto } from './dto';
import { USERS_BATCH_MAX, UsersService } from './users.service';

@ApiTags('users')
@Controller('users')
export class UsersController {
  constructor(private readonly users: UsersService) {}

  @Get('me')
  @Authenticated()
  @Header('Cache-Control', 'private, no-cache')
  me(@CurrentUser() user: AuthenticatedUser): Promise<MeDto> {
    return this.users.me(user.id);
  }

  @Get()
  @ApiQuery({ name: 'ids', description: 'comma-separated ids, at most 100', example: '1,2,3' })
  getMany(@Query('ids') ids?: string): Promise<(UserDto | null)[]> {
    return this.users.getMany(parseIdList(ids, USERS_BATCH_MAX));
  }

  @Get(':id')
  get(@Param('id', ParseIdPipe) id: number): Promise<UserDto> {
    return this.users.get(id);
  }

  @Patch(':id')
  @Authenticated()
  update(
    @Param('id', ParseIdPipe) id: number,
    @CurrentUser() user: AuthenticatedUser,
    @Body() changes: UpdateUserDto,
  ): Promise<MeDto> {
    return this.users.update(id, user.id, changes);
  }

  @Get(':id/dashboard')
  @RateLimit('expensive')
  dashboard(@Param('id', ParseIdPipe) id: number): Promise<DashboardDto> {
    return this.users.dashboard(id);
  }
}
