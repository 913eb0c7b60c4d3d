import { DynamicModule, Module } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { APP_GUARD, RouterModule } from '@nestjs/core';
import { JwtService } from '@nestjs/jwt';
import { CacheModule } from '@app/cache';
import { LoadstarConfig, LoadstarConfigModule, RateLimitTierName } from '@app/config';
import { DatabaseModule } from '@app/database';
import { HealthModule } from '@app/health';
import { LoggingModule } from '@app/logging';
import { MetricsModule } from '@app/metrics';
import { RateLimitGuard, RateLimitModule } from '@app/throttler';
import { WorkerModule } from '@app/worker';
import { verifyBearer } from './auth/access-token.guard';
import { AuthModule } from './auth/auth.module';
import { PublicConfigModule } from './config/public-config.module';
import { ENTITIES, MIGRATIONS } from './database/schema';
import { FollowsModule } from './follows/follows.module';
import { PostsModule } from './posts/posts.module';
import { UsersModule } from './users/users.module';

/**
 * Tiers that guard credentials: while Redis is away they are counted in each process instead
 * of following `RATE_LIMIT_FAIL_OPEN`, so losing Redis never switches login throttling off.
 */
const CREDENTIAL_TIERS: readonly RateLimitTierName[] = [
  'auth',
  'authAccountAddress',
  'authAccount',
  'register',
];

/** The domain modules, all served under `/api`. */
const API_MODULES = [AuthModule, UsersModule, PostsModule, FollowsModule, PublicConfigModule];

@Module({})
export class AppModule {
  /** @param config parsed once at bootstrap (see `parseEnvironment`). */
  static forRoot(config: LoadstarConfig): DynamicModule {
    return {
      module: AppModule,
      imports: [
        LoadstarConfigModule.forRoot(config),
        LoggingModule.forRootAsync({
          inject: [ConfigService],
          useFactory: (configService: ConfigService<LoadstarConfig, true>) =>
            configService.get('log', { infer: true }),
        }),
        DatabaseModule.forRootAsync({
          inject: [ConfigService],
          useFactory: (configService: ConfigService<LoadstarConfig, true>) => ({
            config: configService.get('database', { infer: true }),
            entities: ENTITIES,
            migrations: MIGRATIONS,
          }),
        }),
        WorkerModule.forRootAsync({
          isGlobal: true,
          inject: [ConfigService],
          useFactory: (configService: ConfigService<LoadstarConfig, true>) =>
            configService.get('workerPool', { infer: true }),
        }),
        CacheModule.forRootAsync({
          inject: [ConfigService],
          useFactory: (configService: ConfigService<LoadstarConfig, true>) => {
            const cache = configService.get('cache', { infer: true });
            return {
              enabled: cache.enabled,
              redisUrl: configService.get('redis', { infer: true }).url,
              defaultTtlMs: cache.defaultTtlS * 1000,
              l1: {
                maxEntries: cache.l1MaxEntries,
                maxBytes: cache.l1MaxBytes,
                ttlMs: cache.l1TtlMs,
              },
              redis: { commandTimeoutMs: cache.redisTimeoutMs },
            };
          },
        }),
        RateLimitModule.forRootAsync({
          isGlobal: true,
          inject: [ConfigService, JwtService],
          useFactory: (configService: ConfigService<LoadstarConfig, true>, jwt: JwtService) => ({
            ...configService.get('rateLimit', { infer: true }),
            localFallbackTiers: CREDENTIAL_TIERS,
            redisUrl: configService.get('redis', { infer: true }).url,
            clusterWorkers: configService.get('cluster', { infer: true }).workers,
            identify: (request) => verifyBearer(jwt, request)?.id,
          }),
        }),
        MetricsModule.forRootAsync({
          inject: [ConfigService],
          useFactory: (configService: ConfigService<LoadstarConfig, true>) => ({
            ...configService.get('metrics', { infer: true }),
            clusterWorker: configService.get('cluster', { infer: true }).workers > 0,
          }),
        }),
        HealthModule.forRootAsync({
          inject: [ConfigService],
          useFactory: (configService: ConfigService<LoadstarConfig, true>) => ({
            redisUrl: configService.get('redis', { infer: true }).url,
            redisRequired: configService.get('redis', { infer: true }).required,
            detailedErrors: configService.get('env', { infer: true }) !== 'production',
            pingTimeoutMs: configService.get('database', { infer: true }).connectTimeoutMs,
          }),
        }),
        ...API_MODULES,
        RouterModule.register([{ path: 'api', children: API_MODULES }]),
      ],
      providers: [{ provide: APP_GUARD, useExisting: RateLimitGuard }],
    };
  }
}
