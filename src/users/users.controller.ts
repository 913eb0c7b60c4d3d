import { Body, Controller, Get, Header, Param, Patch, Query } from '@nestjs/common';
import {
  ApiForbiddenResponse,
  ApiNotFoundResponse,
  ApiOkResponse,
  ApiQuery,
  ApiTags,
} from '@nestjs/swagger';
import { CacheEvict, CachePut, Cached, HttpCache } from '@app/cache';
import { ParseIdPipe, parseIdList } from '@app/http';
import { Authenticated, CurrentUser } from '../auth/auth.decorators';
import { AuthenticatedUser } from '../auth/authenticated-user';
import { MeDto, UpdateUserDto, UserDto } from './dto';
import { ME_CACHE_KEY, toPublicUser, USER_CACHE_KEY, USER_TAG } from './users.cache';
import { USERS_BATCH_MAX, UsersService } from './users.service';

@ApiTags('users')
@Controller('users')
export class UsersController {
  constructor(private readonly users: UsersService) {}

  @Get('me')
  @Authenticated()
  @Cached({ key: ME_CACHE_KEY })
  @HttpCache({ visibility: 'private', noCache: true })
  @ApiNotFoundResponse({ description: 'the account of the token no longer exists' })
  me(@CurrentUser() user: AuthenticatedUser): Promise<MeDto> {
    return this.users.me(user.id);
  }

  @Get()
  @ApiQuery({ name: 'ids', description: 'comma-separated ids, at most 100', example: '1,2,3' })
  @ApiOkResponse({ type: UserDto, isArray: true, description: '`null` for unknown ids' })
  @Header('Content-Type', 'application/json; charset=utf-8')
  getMany(@Query('ids') ids?: string): Promise<string> {
    return this.users.getMany(parseIdList(ids, USERS_BATCH_MAX));
  }

  @Get(':id')
  @Cached({ key: USER_CACHE_KEY })
  @HttpCache({ visibility: 'public', maxAge: 60 })
  get(@Param('id', ParseIdPipe) id: number): Promise<UserDto> {
    return this.users.get(id);
  }

  @Patch(':id')
  @Authenticated()
  @ApiForbiddenResponse({ description: 'only the user may change their own profile' })
  @CachePut({ key: ME_CACHE_KEY }, { key: USER_CACHE_KEY, value: toPublicUser })
  @CacheEvict({ tags: [USER_TAG] })
  update(
    @Param('id', ParseIdPipe) id: number,
    @CurrentUser() user: AuthenticatedUser,
    @Body() changes: UpdateUserDto,
  ): Promise<MeDto> {
    return this.users.update(id, user.id, changes);
  }
}
