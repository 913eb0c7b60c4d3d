import type { DatabaseConfig } from '@app/config';
import type { MixedList } from 'typeorm';

/** Options of {@link DatabaseModule}. */
export interface DatabaseModuleOptions {
  /** Connection and pool settings (contract §1), usually `config.get('database')`. */
  config: DatabaseConfig;
  /** Entity classes of the application. */
  // eslint-disable-next-line @typescript-eslint/no-unsafe-function-type
  entities: MixedList<Function>;
  /** Migration classes, applied in order when `config.migrationsRun` is on. */
  // eslint-disable-next-line @typescript-eslint/no-unsafe-function-type
  migrations: MixedList<Function>;
  /**
   * Queries slower than this are logged at `warn`.
   * @default 200
   */
  slowQueryMs?: number;
}

/** Connection counts of the primary's pool. */
export interface DatabasePoolStats {
  total: number;
  idle: number;
  waiting: number;
}
