import { Column, Entity, PrimaryColumn } from 'typeorm';

/**
 * A row of `post_import_quotas`: rows a user imported in the fixed window that started at
 * `windowStartedAt` (`IMPORT_ROW_QUOTA`). In PostgreSQL, so the quota holds across processes
 * and instances, with or without Redis, and a batch and its count commit together.
 */
@Entity('post_import_quotas')
export class PostImportQuotaEntity {
  @PrimaryColumn('integer', { name: 'user_id' })
  userId!: number;

  @Column('timestamptz', { name: 'window_started_at' })
  windowStartedAt!: Date;

  @Column('integer')
  rows!: number;
}
