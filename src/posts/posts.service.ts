import { ForbiddenException, Injectable, NotFoundException } from '@nestjs/common';
import { DatabaseService } from '@app/database';
import { DomainEvents } from '@app/events';
import { CreatePostDto, ListPostsQuery, PostDto, PostPageDto, UpdatePostDto } from './dto';
import { decodePostCursor, encodePostCursor } from './post-cursor';
import { PostsChanged } from './posts.events';
import { PostsRepository } from './posts.repository';

@Injectable()
export class PostsService {
  constructor(
    private readonly posts: PostsRepository,
    private readonly database: DatabaseService,
    private readonly events: DomainEvents,
  ) {}

  async create(authorId: number, input: CreatePostDto): Promise<PostDto> {
    const post = await this.posts.create(authorId, input.title, input.body);
    await this.announce(authorId);
    return post;
  }

  async get(id: number): Promise<PostDto> {
    const post = await this.posts.findById(id);
    if (!post) throw new NotFoundException(`post ${id} not found`);
    return post;
  }

  async update(id: number, authorId: number, changes: UpdatePostDto): Promise<PostDto> {
    const post = await this.posts.updateOwn(id, authorId, changes);
    if (!post) throw await this.whyNotOwn(id);
    await this.announce(authorId);
    return post;
  }

  async delete(id: number, authorId: number): Promise<void> {
    if (!(await this.posts.deleteOwn(id, authorId))) throw await this.whyNotOwn(id);
    await this.announce(authorId);
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

  /**
   * Tells the rest of the app once the change is committed: inside an idempotent request's
   * transaction, an eviction before the commit could let a reader cache the old state again.
   */
  private announce(authorId: number): Promise<void> {
    return this.database.afterCommit(() => this.events.publish(new PostsChanged(authorId)));
  }

  /** `404` when the post is gone, `403` when it belongs to someone else. */
  private async whyNotOwn(id: number): Promise<Error> {
    return (await this.posts.authorOf(id)) === undefined
      ? new NotFoundException(`post ${id} not found`)
      : new ForbiddenException('only the author may change this post');
  }
}
