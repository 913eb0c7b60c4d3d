import { Body, Controller, Delete, Get, HttpCode, Param, Patch, Post, Query } from '@nestjs/common';
import { ApiTags } from '@nestjs/swagger';
import { ParseIdPipe } from '@app/http';
import { Authenticated, CurrentUser } from '../auth/auth.decorators';
import { AuthenticatedUser } from '../auth/authenticated-user';
import { CreatePostDto, ListPostsQuery, PostDto, PostPageDto, UpdatePostDto } from './dto';
import { PostsService } from './posts.service';

@ApiTags('posts')
@Controller('posts')
export class PostsController {
  constructor(private readonly posts: PostsService) {}

  @Post()
  @Authenticated()
  create(@CurrentUser() user: AuthenticatedUser, @Body() input: CreatePostDto): Promise<PostDto> {
    return this.posts.create(user.id, input);
  }

  @Get()
  list(@Query() query: ListPostsQuery): Promise<PostPageDto> {
    return this.posts.list(query);
  }

  @Get(':id')
  get(@Param('id', ParseIdPipe) id: number): Promise<PostDto> {
    return this.posts.get(id);
  }

  @Patch(':id')
  @Authenticated()
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
  delete(
    @Param('id', ParseIdPipe) id: number,
    @CurrentUser() user: AuthenticatedUser,
  ): Promise<void> {
    return this.posts.delete(id, user.id);
  }
}
