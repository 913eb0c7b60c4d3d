import { PublicLimitsDto } from './public-limits.dto';
import { RateLimitTierDto } from './rate-limit-tier.dto';

/** Settings a client may rely on. */
export class PublicConfigDto {
  version!: string;
  rateLimits!: Record<string, RateLimitTierDto>;
  limits!: PublicLimitsDto;
}
