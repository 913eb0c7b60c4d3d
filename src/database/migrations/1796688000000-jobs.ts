import PgBoss from 'pg-boss';
import { MigrationInterface, QueryRunner } from 'typeorm';
import { JOBS_SCHEMA } from '@app/jobs';

/**
 * Durable jobs: pg-boss's schema (its own construction plan, so a start never creates or
 * changes it; a pg-boss upgrade that changes it comes with a migration of its own), loadstar's
 * record of each job (owner, enqueuing request, progress), the CSV body of an async import,
 * and the (job, row) identity of imported posts that makes a retried import skip what an
 * earlier attempt committed.
 */
export class Jobs1796688000000 implements MigrationInterface {
  name = 'Jobs1796688000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    // the plan brings its own BEGIN/COMMIT; it runs in the migration's transaction instead
    const plan = PgBoss.getConstructionPlans(JOBS_SCHEMA);
    await queryRunner.query(plan.replace(/^\s*BEGIN;/, '').replace(/COMMIT;\s*$/, ''));
    await queryRunner.query(`
      CREATE TABLE job_records (
        id uuid PRIMARY KEY,
        type text NOT NULL,
        owner_id integer,
        request_id text,
        progress_done integer NOT NULL DEFAULT 0,
        progress_total integer,
        created_at timestamptz NOT NULL DEFAULT now()
      )`);
    await queryRunner.query(
      `CREATE INDEX job_records_owner ON job_records (owner_id, created_at DESC, id DESC)`,
    );
    await queryRunner.query(`
      CREATE TABLE import_uploads (
        job_id uuid PRIMARY KEY REFERENCES job_records (id) ON DELETE CASCADE,
        body bytea NOT NULL
      )`);
    await queryRunner.query(`ALTER TABLE posts ADD COLUMN import_job_id uuid`);
    await queryRunner.query(`ALTER TABLE posts ADD COLUMN import_row integer`);
    await queryRunner.query(
      `CREATE UNIQUE INDEX posts_import_row ON posts (import_job_id, import_row)
       WHERE import_job_id IS NOT NULL`,
    );
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP INDEX posts_import_row`);
    await queryRunner.query(`ALTER TABLE posts DROP COLUMN import_row`);
    await queryRunner.query(`ALTER TABLE posts DROP COLUMN import_job_id`);
    await queryRunner.query(`DROP TABLE import_uploads`);
    await queryRunner.query(`DROP TABLE job_records`);
    await queryRunner.query(`DROP SCHEMA ${JOBS_SCHEMA} CASCADE`);
  }
}
