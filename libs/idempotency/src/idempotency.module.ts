import { Module } from '@nestjs/common';
import { IdempotencyInterceptor } from './idempotency.interceptor';
import { IdempotencyConfigurableModule } from './idempotency.module-definition';
import { IdempotencyRepository } from './idempotency.repository';
import { IdempotencyService } from './idempotency.service';

/**
 * Idempotency keys for `@Idempotent()` routes, stored in the `idempotency_keys` table of the
 * application's TypeORM data source (the application's migrations create it), each response in
 * the transaction of the write it answers (`DatabaseService.inTransaction`, so `DatabaseModule`
 * must be there). Global by
 * default (`isGlobal: false` to import it where needed): decorated controllers live in every
 * feature module.
 *
 * @example
 * IdempotencyModule.forRoot({
 *   ttlMs: 86_400_000,
 *   scope: (request) => (request as RequestWithUser).user?.id.toString(),
 * })
 */
@Module({
  providers: [IdempotencyRepository, IdempotencyService, IdempotencyInterceptor],
  exports: [IdempotencyService, IdempotencyInterceptor],
})
export class IdempotencyModule extends IdempotencyConfigurableModule {}
