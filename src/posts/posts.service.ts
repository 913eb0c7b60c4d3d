import { ForbiddenException, Injectable, NotFoundException } from '@nestjs/common';
import { DatabaseService } from '@app/database';
import { CreatePostDto, ListPostsQuery, PostDto, PostPageDto, UpdatePostDto } from './dto';
import { decodePostCursor, encodePostCursor } from './post-cursor';
import { PostsRepository } from './posts.repository';

@Injectable()
export class PostsService {
  constructor(
    private readonly posts: PostsRepository,
    private readonly database: DatabaseService,
  ) {}

  create(authorId: number, input: CreatePostDto): Promise<PostDto> {
    return this.posts.create(authorId, input.title, input.body);
  }

  async get(id: number): Promise<PostDto> {
    const post = await this.posts.findById(id);
    if (!post) throw new NotFoundException(`post ${id} not found`);
    return post;
  }

  async update(id: number, authorId: number, changes: UpdatePostDto): Promise<PostDto> {
    const post = await this.posts.updateOwn(id, authorId, changes);
    if (post) return post;
    throw await this.whyNotOwn(id);
  }

  async delete(id: number, authorId: number): Promise<void> {
    if (!(await this.posts.deleteOwn(id, authorId))) throw await this.whyNotOwn(id);
  }

  /** A page of posts from a replica: a list may lag a moment behind the newest writes. */
  async list(query: ListPostsQuery): Promise<PostPageDto> {
    const beforeId = query.cursor === undefined ? undefined : decodePostCursor(query.cursor);
    const rows = await this.database.onReplica((manager) =>
      this.posts.page({ authorId: query.authorId, beforeId, limit: query.limit + 1 }, manager),
    );
    const items = rows.slice(0, query.limit);
    const nextCursor =
      rows.length > query.limit ? encodePostCursor(items[items.length - 1].id) : null;
    return { items, nextCursor };
  }

  /** `404` when the post is gone, `403` when it belongs to someone else. */
  private async whyNotOwn(id: number): Promise<Error> {
    return (await this.posts.authorOf(id)) === undefined
      ? new NotFoundException(`post ${id} not found`)
      : new ForbiddenException('only the author may change this post');
  }
}
