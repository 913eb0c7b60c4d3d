import { DynamicModule, Module, Provider, Type } from '@nestjs/common';
import { MODULE_METADATA } from '@nestjs/common/constants';
import { APP_GUARD, APP_INTERCEPTOR, RouterModule } from '@nestjs/core';
import { JwtService } from '@nestjs/jwt';
import { CacheModule } from '@app/cache';
import { DatabaseModule, DatabaseService, ReadYourWritesInterceptor } from '@app/database';
import { HealthModule } from '@app/health';
import { IdempotencyModule } from '@app/idempotency';
import { JobsModule } from '@app/jobs';
import { LoggingModule } from '@app/logging';
import { MetricsModule } from '@app/metrics';
import { RateLimitGuard, RateLimitModule } from '@app/throttler';
import { TracingModule } from '@app/tracing';
import { WorkerModule } from '@app/worker';
import { RequestWithUser, verifyBearer } from './auth/access-token.guard';
import { AuthModule } from './auth/auth.module';
import { LoadstarConfigModule } from './config/config.module';
import { LoadstarConfig } from './config/loadstar-config';
import { PublicConfigModule } from './config/public-config.module';
import { CREDENTIAL_TIERS } from './config/rate-limit-tiers';
import { DashboardModule } from './dashboard/dashboard.module';
import { ENTITIES, MIGRATIONS } from './database/schema';
import { FollowsModule } from './follows/follows.module';
import { JobsApiModule } from './jobs/jobs-api.module';
import { NotificationsModule } from './notifications/notifications.module';
import { POST_BODY_MAX, POST_TITLE_MAX, POSTS_PAGE_MAX } from './posts/dto';
import { PostsModule } from './posts/posts.module';
import { UsersModule } from './users/users.module';
import { USERS_BATCH_MAX } from './users/users.service';

/**
 * The domain modules are this decorator's `imports`, all served under `/api` (see
 * {@link apiModules}); `nest g module <name>` adds a new one here.
 */
@Module({
  imports: [
    AuthModule,
    UsersModule,
    PostsModule,
    FollowsModule,
    DashboardModule,
    JobsApiModule,
    PublicConfigModule.forRoot({
      postTitleMaxChars: POST_TITLE_MAX,
      postBodyMaxChars: POST_BODY_MAX,
      postsPageMax: POSTS_PAGE_MAX,
      usersBatchMax: USERS_BATCH_MAX,
    }),
  ],
})
export class AppModule {
  /**
   * @param config parsed once at bootstrap (see `parseEnvironment`): each lib gets its own
   * namespace as its options, as parsed.
   */
  static forRoot(config: LoadstarConfig): DynamicModule {
    return {
      module: AppModule,
      imports: [
        LoadstarConfigModule.forRoot(config),
        LoggingModule.forRoot(config.log),
        DatabaseModule.forRoot({
          config: config.database,
          entities: ENTITIES,
          migrations: MIGRATIONS,
        }),
        WorkerModule.forRoot({ ...config.workerPool, isGlobal: true }),
        JobsModule.forRoot({ ...config.jobs, isGlobal: true }),
        CacheModule.forRootAsync({
          inject: [DatabaseService],
          useFactory: (database: DatabaseService) => ({
            ...config.cache,
            // @CachePut on an @Idempotent route runs inside its transaction: after the commit.
            deferWrites: (writes: () => Promise<void>) => database.afterCommit(writes),
          }),
        }),
        IdempotencyModule.forRoot({
          ...config.idempotency,
          // Routes marked @Idempotent() are authenticated: keys are per user.
          scope: (request) => (request as RequestWithUser).user?.id.toString(),
        }),
        RateLimitModule.forRootAsync({
          isGlobal: true,
          inject: [JwtService],
          useFactory: (jwt: JwtService) => ({
            ...config.rateLimit,
            localFallbackTiers: CREDENTIAL_TIERS,
            identify: (request) => verifyBearer(jwt, request)?.id,
          }),
        }),
        MetricsModule.forRoot(config.metrics),
        HealthModule.forRoot(config.health),
        TracingModule,
        NotificationsModule,
        RouterModule.register([{ path: 'api', children: apiModules() }]),
      ],
      providers: [
        { provide: APP_GUARD, useExisting: RateLimitGuard },
        ...(config.database.replicaUrls.length > 0 ? [readYourWritesProvider()] : []),
      ],
    };
  }
}

/** Each user reads their own writes, whichever replica serves them (docs/scaling-out.md). */
function readYourWritesProvider(): Provider {
  return {
    provide: APP_INTERCEPTOR,
    inject: [DatabaseService, JwtService],
    useFactory: (database: DatabaseService, jwt: JwtService) =>
      new ReadYourWritesInterceptor(
        database,
        (request) => verifyBearer(jwt, request as RequestWithUser)?.id,
      ),
  };
}

/** The modules `@Module({ imports })` lists above, so the routes and the imports are one list. */
function apiModules(): Type[] {
  const imports = Reflect.getMetadata(MODULE_METADATA.IMPORTS, AppModule) as (
    Type | DynamicModule
  )[];
  return imports.map((entry) => ('module' in entry ? entry.module : entry));
}
