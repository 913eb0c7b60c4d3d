import { Column, Entity, PrimaryGeneratedColumn } from 'typeorm';

/** A row of `posts`; `version` grows on every change and feeds the `ETag`. */
@Entity('posts')
export class PostEntity {
  @PrimaryGeneratedColumn('identity', { generatedIdentity: 'BY DEFAULT' })
  id!: number;

  @Column('integer', { name: 'author_id' })
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
}
