import { Controller, Get, Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter, NestFastifyApplication } from '@nestjs/platform-fastify';

/**
 * The framework's own floor: NestJS 11 on Fastify with nothing added (no logger, no guard,
 * interceptor or pipe), answering `GET /api/users/:id` with the same user JSON the app serves
 * (`BENCH_BODY`) from memory. The full stack's "≥ 0.9× bare Nest" target is measured on this.
 */
const user = JSON.parse(process.env.BENCH_BODY ?? '{}') as Record<string, unknown>;

@Controller('api/users')
class UsersController {
  @Get(':id')
  findOne(): Record<string, unknown> {
    return user;
  }
}

@Module({ controllers: [UsersController] })
class AppModule {}

async function bootstrap(): Promise<void> {
  const app = await NestFactory.create<NestFastifyApplication>(AppModule, new FastifyAdapter(), {
    logger: false,
  });
  await app.listen(Number(process.env.PORT ?? 3000), process.env.HOST ?? '127.0.0.1');
}

bootstrap().catch((error: unknown) => {
  process.stderr.write(`bare-nest: ${String(error)}\n`);
  process.exit(1);
});
