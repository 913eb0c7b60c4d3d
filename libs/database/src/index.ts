export * from './interfaces';
export { DatabaseModule } from './database.module';
export { DatabaseService } from './database.service';
export {
  type IdentifyClient,
  ReadYourWritesInterceptor,
} from './database.read-your-writes.interceptor';
export { DedicatedPool } from './database.dedicated-pool';
export { EmbeddedPostgres, type EmbeddedPostgresOptions, freePort } from './embedded-postgres';
export { buildDataSourceOptions } from './database.options';
export { createStandaloneDataSource } from './database.standalone';
export { EMBEDDED_DATABASE_NAME } from './database.constants';
