import { Body, Controller, Delete, Get, HttpCode, Param, Patch, Post, Query } from '@nestjs/common';
import { ApiTags } from '@nestjs/swagger';
import { CacheEvict, CachePut, Cached, HttpCache } from '@app/cache';
import { ParseIdPipe } from '@app/http';
import { Authenticated, CurrentUser } from '../auth/auth.decorators';
import { AuthenticatedUser } from '../auth/authenticated-user';
import { CreatePostDto, ListPostsQuery, PostDto, PostPageDto, UpdatePostDto } from './dto';
import { DASHBOARD_OF_CALLER } from '../users/users.cache';
import { PostsService } from './posts.service';

/** A post as `GET /api/posts/:id` serves it; `PATCH` writes it through, `DELETE` evicts it. */
const POST_CACHE_KEY = 'post:{id}';

@ApiTags('posts')
@Controller('posts')
export class PostsController {
  constructor(private readonly posts: PostsService) {}

  @Post()
  @Authenticated()
  @CacheEvict({ keys: [DASHBOARD_OF_CALLER] })
  create(@CurrentUser() user: AuthenticatedUser, @Body() input: CreatePostDto): Promise<PostDto> {
    return this.posts.create(user.id, input);
  }

  @Get()
  list(@Query() query: ListPostsQuery): Promise<PostPageDto> {
    return this.posts.list(query);
  }

  @Get(':id')
  @Cached({ key: POST_CACHE_KEY })
  @HttpCache({ visibility: 'public', maxAge: 60 })
  get(@Param('id', ParseIdPipe) id: number): Promise<PostDto> {
    return this.posts.get(id);
  }

  @Patch(':id')
  @Authenticated()
  @CachePut({ key: POST_CACHE_KEY })
  @CacheEvict({ keys: [DASHBOARD_OF_CALLER] })
  update(
    @Param('id', ParseIdPipe) id: number,
    @CurrentUser() user: AuthenticatedUser,
    @Body() changes: UpdatePostDto,
  ): Promise<PostDto> {
    return this.posts.update(id, user.id, changes);
  }

  @Delete(':id')
  @HttpCode(204)
  @Authenticated()
  @CacheEvict({ keys: [POST_CACHE_KEY, DASHBOARD_OF_CALLER] })
  delete(
    @Param('id', ParseIdPipe) id: number,
    @CurrentUser() user: AuthenticatedUser,
  ): Promise<void> {
    return this.posts.delete(id, user.id);
  }
}
