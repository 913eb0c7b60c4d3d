import { Column, Entity, PrimaryColumn } from 'typeorm';

/** A row of `follows`: `followerId` follows `followeeId`. */
@Entity('follows')
export class FollowEntity {
  @PrimaryColumn('integer', { name: 'follower_id' })
  followerId!: number;

  @PrimaryColumn('integer', { name: 'followee_id' })
  followeeId!: number;

  @Column('timestamptz', { name: 'created_at', default: () => 'now()' })
  createdAt!: Date;
}
