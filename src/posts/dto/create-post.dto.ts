import { IsString, Length, MaxLength } from 'class-validator';

/** Longest accepted title, in characters. */
export const POST_TITLE_MAX = 200;
/** Longest accepted body, in characters. */
export const POST_BODY_MAX = 100_000;

export class CreatePostDto {
  /** 1–200 characters */
  @IsString()
  @Length(1, POST_TITLE_MAX)
  title!: string;

  /** at most 100 000 characters */
  @IsString()
  @MaxLength(POST_BODY_MAX)
  body!: string;
}
