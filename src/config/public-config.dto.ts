export class RateLimitTierDto {
  /** requests per window */
  limit!: number;
  /** window length in seconds */
  windowSeconds!: number;
}

export class PublicLimitsDto {
  bodyMaxBytes!: number;
  postTitleMaxChars!: number;
  postBodyMaxChars!: number;
  postsPageMax!: number;
  usersBatchMax!: number;
}

/** Settings a client may rely on. */
export class PublicConfigDto {
  version!: string;
  rateLimits!: Record<string, RateLimitTierDto>;
  limits!: PublicLimitsDto;
}
