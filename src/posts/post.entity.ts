import { Column, Entity, ForeignKey, Index, PrimaryGeneratedColumn } from 'typeorm';

/**
 * A row of `posts`; `version` grows on every change and feeds the `ETag`. The index serves a
 * page of an author's posts newest first (the migration builds it on `id DESC`, an order
 * TypeORM cannot declare and does not compare).
 */
@Entity('posts')
@Index('posts_author_id_id_idx', ['authorId', 'id'])
@Index('posts_import_row', ['importJobId', 'importRow'], {
  unique: true,
  where: 'import_job_id IS NOT NULL',
})
export class PostEntity {
  @PrimaryGeneratedColumn('identity', { generatedIdentity: 'BY DEFAULT' })
  id!: number;

  @Column('integer', { name: 'author_id' })
  @ForeignKey('users', { name: 'posts_author_id_fkey', onDelete: 'CASCADE' })
  authorId!: number;

  @Column('text')
  title!: string;

  @Column('text')
  body!: string;

  @Column('integer', { default: 1 })
  version!: number;

  @Column('timestamptz', { name: 'created_at', default: () => 'now()' })
  createdAt!: Date;

  @Column('timestamptz', { name: 'updated_at', default: () => 'now()' })
  updatedAt!: Date;

  /** The import job and CSV row a post came from: a retried import skips rows it has. */
  @Column('uuid', { name: 'import_job_id', nullable: true, select: false })
  importJobId!: string | null;

  @Column('integer', { name: 'import_row', nullable: true, select: false })
  importRow!: number | null;
}
