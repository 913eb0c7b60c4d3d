export * from './interfaces';
export { DatabaseModule } from './database.module';
export { DatabaseService } from './database.service';
export { DedicatedPool } from './database.dedicated-pool';
export { EmbeddedPostgres, EmbeddedPostgresOptions } from './embedded-postgres';
export { buildDataSourceOptions } from './database.options';
export { createStandaloneDataSource } from './database.standalone';
export { EMBEDDED_DATABASE_NAME } from './database.constants';
