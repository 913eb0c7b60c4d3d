import { DynamicModule, Module } from '@nestjs/common';
import { PublicConfigController } from './public-config.controller';
import { FeatureLimits, PUBLIC_LIMITS } from './public-config.constants';

/** `GET /api/config`: the settings and limits a client may rely on. */
@Module({})
export class PublicConfigModule {
  static forRoot(limits: FeatureLimits): DynamicModule {
    return {
      module: PublicConfigModule,
      controllers: [PublicConfigController],
      providers: [{ provide: PUBLIC_LIMITS, useValue: limits }],
    };
  }
}
