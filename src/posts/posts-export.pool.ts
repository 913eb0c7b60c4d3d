import { FactoryProvider, Inject } from '@nestjs/common';
import { DatabaseService, DedicatedPool } from '@app/database';
import { LoadstarConfig } from '../config/loadstar-config';

const EXPORT_POOL = Symbol('loadstar:posts:export-pool');

/**
 * The export's own connections: `EXPORT_MAX_CONCURRENT` of them, on a replica when there is
 * one, with `EXPORT_TIMEOUT_MS` as statement timeout (a cursor read as slowly as its client
 * reads). However many exports clients hold open, the application's pool stays free.
 */
export const exportPoolProvider: FactoryProvider<Promise<DedicatedPool>> = {
  provide: EXPORT_POOL,
  inject: [DatabaseService, LoadstarConfig],
  useFactory: (database: DatabaseService, config: LoadstarConfig) => {
    const { maxConcurrent, timeoutMs } = config.posts.export;
    return database.openDedicatedPool({
      name: 'export',
      max: maxConcurrent,
      statementTimeoutMs: timeoutMs,
      replica: true,
    });
  },
};

/** Injects the {@link DedicatedPool} of the posts export. */
export const InjectExportPool = (): ParameterDecorator => Inject(EXPORT_POOL);
