import type { DataSource } from 'typeorm';

/** Export queries still running (or paused mid-cursor), from any app on this database. */
export async function runningExports(dataSource: DataSource): Promise<number> {
  const [row] = (await dataSource.query(
    `SELECT count(*)::int AS count FROM pg_stat_activity
     WHERE datname = current_database() AND application_name = 'loadstar'
       AND query LIKE '%loadstar:posts-export%' AND state <> 'idle' AND pid <> pg_backend_pid()`,
  )) as { count: number }[];
  return row.count;
}
