import { MigrationInterface, QueryRunner } from 'typeorm';

/** Rows each user imported in their current quota window (`IMPORT_ROW_QUOTA`). */
export class PostImportQuotas1796601600000 implements MigrationInterface {
  name = 'PostImportQuotas1796601600000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      CREATE TABLE post_import_quotas (
        user_id integer PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
        window_started_at timestamptz NOT NULL,
        rows integer NOT NULL
      )`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP TABLE post_import_quotas`);
  }
}
