import { Transform } from 'class-transformer';
import { MAX_ENTITY_ID, toStrictInteger } from '@app/http';
import { IsInt, IsOptional, IsString, Max, MaxLength, Min } from 'class-validator';

/** Largest page of posts. */
export const POSTS_PAGE_MAX = 100;

export class ListPostsQuery {
  /** only this author's posts */
  @IsOptional()
  @Transform(toStrictInteger)
  @IsInt()
  @Min(1)
  @Max(MAX_ENTITY_ID)
  authorId?: number;

  /** 1–100, default 20 */
  @IsOptional()
  @Transform(toStrictInteger)
  @IsInt()
  @Min(1)
  @Max(POSTS_PAGE_MAX)
  limit: number = 20;

  /** `nextCursor` of the previous page */
  @IsOptional()
  @IsString()
  @MaxLength(64)
  cursor?: string;
}
