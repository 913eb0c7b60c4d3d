export class PublicLimitsDto {
  bodyMaxBytes!: number;
  postTitleMaxChars!: number;
  postBodyMaxChars!: number;
  postsPageMax!: number;
  usersBatchMax!: number;
}
