import { Check, Column, Entity, ForeignKey, Index, PrimaryColumn } from 'typeorm';

/**
 * A row of `follows`: `followerId` follows `followeeId`. The index serves a user's followers
 * newest first (built on `created_at DESC` by the migration; TypeORM does not compare order).
 */
@Entity('follows')
@Index('follows_followee_id_created_at_idx', ['followeeId', 'createdAt'])
@Check('follows_not_self', '"follower_id" <> "followee_id"')
export class FollowEntity {
  @PrimaryColumn('integer', { name: 'follower_id' })
  @ForeignKey('users', { name: 'follows_follower_id_fkey', onDelete: 'CASCADE' })
  followerId!: number;

  @PrimaryColumn('integer', { name: 'followee_id' })
  @ForeignKey('users', { name: 'follows_followee_id_fkey', onDelete: 'CASCADE' })
  followeeId!: number;

  @Column('timestamptz', { name: 'created_at', default: () => 'now()' })
  createdAt!: Date;
}
