import { PostDto } from './post.dto';

/** One page of posts, newest first. */
export class PostPageDto {
  items!: PostDto[];
  /** pass as `cursor` for the next page; `null` on the last page */
  nextCursor!: string | null;
}
