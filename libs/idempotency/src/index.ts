export * from './interfaces';
export { IdempotencyModule } from './idempotency.module';
export { type Acquisition, IdempotencyService, type KeyedRequest } from './idempotency.service';
export { IdempotencyInterceptor } from './idempotency.interceptor';
export { Idempotent } from './idempotency.decorators';
export { type StoredResponse } from './idempotency.repository';
export {
  IDEMPOTENCY_KEY_HEADER,
  IDEMPOTENCY_KEY_MAX_LENGTH,
  IDEMPOTENT_REPLAYED_HEADER,
} from './idempotency.constants';
