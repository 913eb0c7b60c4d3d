import { MigrationInterface, QueryRunner } from 'typeorm';

/** The W3C `traceparent` of the request that enqueued a job: the job's span links to it. */
export class JobTraceContext1797100000000 implements MigrationInterface {
  name = 'JobTraceContext1797100000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`ALTER TABLE job_records ADD COLUMN traceparent text`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`ALTER TABLE job_records DROP COLUMN traceparent`);
  }
}
