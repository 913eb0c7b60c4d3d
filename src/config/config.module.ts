import { DynamicModule, Module } from '@nestjs/common';
import { LoadstarConfig } from './loadstar-config';

/**
 * Makes the configuration parsed at bootstrap injectable by its type
 * (`constructor(config: LoadstarConfig)`) in the domain modules. Global because they all read
 * it and it never varies per module. Libs never see it: `AppModule` hands each its own options.
 */
@Module({})
export class LoadstarConfigModule {
  /** @param config parsed once, before DI, so a generated development JWT secret is one. */
  static forRoot(config: LoadstarConfig): DynamicModule {
    return {
      module: LoadstarConfigModule,
      global: true,
      providers: [{ provide: LoadstarConfig, useValue: config }],
      exports: [LoadstarConfig],
    };
  }
}
