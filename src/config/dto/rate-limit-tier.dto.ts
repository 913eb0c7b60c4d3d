export class RateLimitTierDto {
  /** requests per window */
  limit!: number;
  /** window length in seconds */
  windowSeconds!: number;
}
