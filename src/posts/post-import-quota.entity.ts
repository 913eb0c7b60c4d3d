import { Column, Entity, ForeignKey, PrimaryColumn } from 'typeorm';

/**
 * A row of `post_import_quotas`: rows a user imported in the fixed window that started at
 * `windowStartedAt` (`IMPORT_ROW_QUOTA`). In PostgreSQL, so the quota holds across processes
 * and instances, with or without Redis, and a batch and its count commit together.
 */
@Entity('post_import_quotas')
export class PostImportQuotaEntity {
  @PrimaryColumn('integer', { name: 'user_id' })
  @ForeignKey('users', { name: 'post_import_quotas_user_id_fkey', onDelete: 'CASCADE' })
  userId!: number;

  @Column('timestamptz', { name: 'window_started_at' })
  windowStartedAt!: Date;

  @Column('integer')
  rows!: number;
}
