import { Body, Controller, Delete, Get, HttpCode, Param, Patch, Post, Query } from '@nestjs/common';
import { ApiForbiddenResponse, ApiTags } from '@nestjs/swagger';
import { CacheEvict, CachePut, Cached, HttpCache } from '@app/cache';
import { ParseIdPipe } from '@app/http';
import { Idempotent } from '@app/idempotency';
import { Authenticated, CurrentUser } from '../auth/auth.decorators';
import { AuthenticatedUser } from '../auth/authenticated-user';
import { CreatePostDto, ListPostsQuery, PostDto, PostPageDto, UpdatePostDto } from './dto';
import { PostsService } from './posts.service';

/** A post as `GET /api/posts/:id` serves it; `PATCH` writes it through, `DELETE` evicts it. */
const POST_CACHE_KEY = 'post:{id}';

@ApiTags('posts')
@Controller('posts')
export class PostsController {
  constructor(private readonly posts: PostsService) {}

  @Post()
  @Authenticated()
  @Idempotent()
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
  @ApiForbiddenResponse({ description: 'the caller is not the author' })
  @CachePut({ key: POST_CACHE_KEY })
  @Idempotent()
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
  @ApiForbiddenResponse({ description: 'the caller is not the author' })
  @CacheEvict({ keys: [POST_CACHE_KEY] })
  delete(
    @Param('id', ParseIdPipe) id: number,
    @CurrentUser() user: AuthenticatedUser,
  ): Promise<void> {
    return this.posts.delete(id, user.id);
  }
}
