import { Controller, Get } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { ApiTags } from '@nestjs/swagger';
import { HttpCache } from '@app/cache';
import type { LoadstarConfig } from '@app/config';
import { POST_BODY_MAX, POST_TITLE_MAX, POSTS_PAGE_MAX } from '../posts/dto';
import { USERS_BATCH_MAX } from '../users/users.service';
import { PublicConfigDto } from './public-config.dto';

@ApiTags('config')
@Controller('config')
export class PublicConfigController {
  /** Built once and frozen: it only changes with a restart, so it is serialized and hashed once. */
  private readonly publicConfig: PublicConfigDto;

  constructor(config: ConfigService<LoadstarConfig, true>) {
    const { tiers } = config.get('rateLimit', { infer: true });
    this.publicConfig = Object.freeze({
      version: config.get('version', { infer: true }),
      rateLimits: Object.fromEntries(
        Object.entries(tiers).map(([name, tier]) => [
          name,
          { limit: tier.limit, windowSeconds: tier.ttlMs / 1000 },
        ]),
      ),
      limits: {
        bodyMaxBytes: config.get('http', { infer: true }).bodyLimitBytes,
        postTitleMaxChars: POST_TITLE_MAX,
        postBodyMaxChars: POST_BODY_MAX,
        postsPageMax: POSTS_PAGE_MAX,
        usersBatchMax: USERS_BATCH_MAX,
      },
    });
  }

  @Get()
  @HttpCache({ visibility: 'public', maxAge: 3600 })
  get(): PublicConfigDto {
    return this.publicConfig;
  }
}
