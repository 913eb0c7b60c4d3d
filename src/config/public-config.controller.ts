import { Controller, Get, Inject } from '@nestjs/common';
import { ApiTags } from '@nestjs/swagger';
import { HttpCache } from '@app/cache';
import { LoadstarConfig } from './loadstar-config';
import { PublicConfigDto } from './dto';
import { FeatureLimits, PUBLIC_LIMITS } from './public-config.constants';

@ApiTags('config')
@Controller('config')
export class PublicConfigController {
  /** Built once and frozen: it only changes with a restart, so it is serialized and hashed once. */
  private readonly publicConfig: PublicConfigDto;

  constructor(config: LoadstarConfig, @Inject(PUBLIC_LIMITS) limits: FeatureLimits) {
    const { tiers } = config.rateLimit;
    this.publicConfig = Object.freeze({
      version: config.http.version,
      rateLimits: Object.fromEntries(
        Object.entries(tiers).map(([name, tier]) => [
          name,
          { limit: tier.limit, windowSeconds: tier.ttlMs / 1000 },
        ]),
      ),
      limits: {
        bodyMaxBytes: config.http.bodyLimitBytes,
        ...limits,
      },
    });
  }

  @Get()
  @HttpCache({ visibility: 'public', maxAge: 3600 })
  get(): PublicConfigDto {
    return this.publicConfig;
  }
}
