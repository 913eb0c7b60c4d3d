import { DynamicModule, Module } from '@nestjs/common';
import { ConfigModule, ConfigService } from '@nestjs/config';
import { LoadstarConfig } from './interfaces';
import { parseEnvironment } from './config.schema';

/** `ConfigService` typed with loadstar's namespaces: `config.get('database', { infer: true })`. */
export type LoadstarConfigService = ConfigService<LoadstarConfig, true>;

/**
 * Makes the validated {@link LoadstarConfig} available as `ConfigService` everywhere.
 * Global because every module reads configuration and it never varies per module.
 */
@Module({})
export class LoadstarConfigModule {
  /**
   * @param config an already parsed configuration (bootstrap parses once, before DI, and
   * passes it here so the generated development JWT secret is the same everywhere);
   * parsed from `process.env` when omitted.
   */
  static forRoot(config?: LoadstarConfig): DynamicModule {
    const resolved = config ?? parseEnvironment();
    return {
      module: LoadstarConfigModule,
      global: true,
      imports: [
        ConfigModule.forRoot({
          ignoreEnvFile: true,
          skipProcessEnv: true,
          cache: true,
          load: [() => resolved],
        }),
      ],
      exports: [ConfigModule],
    };
  }
}
