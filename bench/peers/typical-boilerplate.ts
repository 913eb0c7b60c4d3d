import { createKeyv } from '@keyv/redis';
import { ThrottlerStorageRedisService } from '@nest-lab/throttler-storage-redis';
import { CacheInterceptor, CacheModule } from '@nestjs/cache-manager';
import {
  Controller,
  Get,
  Injectable,
  Module,
  Param,
  ParseIntPipe,
  ValidationPipe,
} from '@nestjs/common';
import { APP_GUARD, APP_INTERCEPTOR, NestFactory } from '@nestjs/core';
import { FastifyAdapter } from '@nestjs/platform-fastify';
import { ThrottlerGuard, ThrottlerModule } from '@nestjs/throttler';
import { Logger, LoggerModule } from 'nestjs-pino';

/**
 * What a user gets by following the Nest docs: NestJS 11 on Express (the default platform),
 * the stock `CacheInterceptor` on the in-memory store, the stock `ThrottlerGuard` with its
 * in-memory storage (limit high enough that nothing is rejected), nestjs-pino request logs at
 * info, and a global `ValidationPipe`. The user comes from memory (`BENCH_BODY`); behind the
 * interceptor the handler only runs on the first request anyway.
 *
 * With `REDIS_URL` it is the naive Redis-backed stack of issue 22: the same modules wired the
 * documented way on Fastify, the cache on `@keyv/redis` and the limiter on
 * `@nest-lab/throttler-storage-redis` (the storage the `@nestjs/throttler` docs point to).
 */
const user = JSON.parse(process.env.BENCH_BODY ?? '{}') as Record<string, unknown>;
const redisUrl = process.env.REDIS_URL || undefined;

@Injectable()
class UsersService {
  findOne(id: number): Record<string, unknown> {
    return { ...user, id };
  }
}

@Controller('api/users')
class UsersController {
  constructor(private readonly users: UsersService) {}

  @Get(':id')
  findOne(@Param('id', ParseIntPipe) id: number): Record<string, unknown> {
    return this.users.findOne(id);
  }
}

@Module({
  imports: [
    CacheModule.register(redisUrl ? { stores: [createKeyv(redisUrl)] } : {}),
    ThrottlerModule.forRoot({
      throttlers: [{ ttl: 60_000, limit: 1_000_000_000 }],
      storage: redisUrl ? new ThrottlerStorageRedisService(redisUrl) : undefined,
    }),
    LoggerModule.forRoot(),
  ],
  controllers: [UsersController],
  providers: [
    UsersService,
    { provide: APP_INTERCEPTOR, useClass: CacheInterceptor },
    { provide: APP_GUARD, useClass: ThrottlerGuard },
  ],
})
class AppModule {}

async function bootstrap(): Promise<void> {
  const app = redisUrl
    ? await NestFactory.create(AppModule, new FastifyAdapter(), { bufferLogs: true })
    : await NestFactory.create(AppModule, { bufferLogs: true });
  app.useLogger(app.get(Logger));
  app.useGlobalPipes(new ValidationPipe());
  await app.listen(Number(process.env.PORT ?? 3000), process.env.HOST ?? '127.0.0.1');
}

bootstrap().catch((error: unknown) => {
  process.stderr.write(`typical-boilerplate: ${String(error)}\n`);
  process.exit(1);
});
