import { MigrationInterface, QueryRunner } from 'typeorm';

/** Idempotency keys of `@Idempotent()` routes and the responses stored under them. */
export class IdempotencyKeys1797000000000 implements MigrationInterface {
  name = 'IdempotencyKeys1797000000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      CREATE TABLE idempotency_keys (
        scope text NOT NULL,
        key text NOT NULL,
        fingerprint text,
        token uuid NOT NULL,
        status smallint,
        headers jsonb,
        body jsonb,
        locked_until timestamptz NOT NULL,
        expires_at timestamptz NOT NULL,
        PRIMARY KEY (scope, key)
      )`);
    await queryRunner.query(
      `CREATE INDEX idempotency_keys_expires_at ON idempotency_keys (expires_at)`,
    );
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP TABLE idempotency_keys`);
  }
}
