import { DynamicModule, Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import {
  DATABASE_ASYNC_OPTIONS_TYPE,
  DATABASE_MODULE_OPTIONS,
  DATABASE_OPTIONS_TYPE,
  DatabaseOptionsModule,
} from './database.module-definition';
import { buildDataSourceOptions } from './database.options';
import { DatabaseReplicas } from './database.replicas';
import { DatabaseServer } from './database.server';
import { DatabaseService } from './database.service';
import { DatabaseModuleOptions } from './interfaces';

/**
 * TypeORM + `pg` with loadstar's pool settings, read replicas, slow-query log and the
 * embedded development PostgreSQL. Exports `TypeOrmModule` (for `@InjectDataSource()` and
 * `@InjectRepository()`) and {@link DatabaseService}. Global, like the data source it wraps:
 * an application has one primary, and every feature module reads it.
 *
 * @example
 * DatabaseModule.forRoot({ config: { url, poolMax: 10, … }, entities, migrations })
 */
@Module({})
export class DatabaseModule {
  static forRoot(options: typeof DATABASE_OPTIONS_TYPE): DynamicModule {
    return DatabaseModule.assemble(DatabaseOptionsModule.forRoot(options));
  }

  static forRootAsync(options: typeof DATABASE_ASYNC_OPTIONS_TYPE): DynamicModule {
    return DatabaseModule.assemble(DatabaseOptionsModule.forRootAsync(options));
  }

  private static assemble(definition: DynamicModule): DynamicModule {
    const optionsModule: DynamicModule = {
      ...definition,
      providers: [...(definition.providers ?? []), DatabaseServer],
      exports: [DATABASE_MODULE_OPTIONS, DatabaseServer],
    };
    return {
      module: DatabaseModule,
      global: true,
      imports: [
        optionsModule,
        TypeOrmModule.forRootAsync({
          imports: [optionsModule],
          inject: [DATABASE_MODULE_OPTIONS, DatabaseServer],
          useFactory: async (options: DatabaseModuleOptions, server: DatabaseServer) =>
            buildDataSourceOptions(options, await server.primaryUrl()),
        }),
      ],
      providers: [DatabaseReplicas, DatabaseService],
      exports: [DatabaseService, TypeOrmModule],
    };
  }
}
