import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, EntityManager } from 'typeorm';
import { UserDto } from '../users/dto';
import { PUBLIC_USER_COLUMNS } from '../users/users.repository';

/** Thrown by {@link FollowsRepository.follow} when the user to follow does not exist. */
export class FolloweeMissingError extends Error {}

const FOREIGN_KEY_VIOLATION = '23503';

@Injectable()
export class FollowsRepository {
  constructor(@InjectDataSource() private readonly dataSource: DataSource) {}

  /** Idempotent: following twice is one follow. */
  async follow(followerId: number, followeeId: number): Promise<void> {
    try {
      await this.dataSource.query(
        `INSERT INTO follows (follower_id, followee_id) VALUES ($1, $2) ON CONFLICT DO NOTHING`,
        [followerId, followeeId],
      );
    } catch (error) {
      if ((error as { code?: string }).code === FOREIGN_KEY_VIOLATION)
        throw new FolloweeMissingError();
      throw error;
    }
  }

  async unfollow(followerId: number, followeeId: number): Promise<void> {
    await this.dataSource.query(`DELETE FROM follows WHERE follower_id = $1 AND followee_id = $2`, [
      followerId,
      followeeId,
    ]);
  }

  async countFollowers(
    userId: number,
    manager: EntityManager = this.dataSource.manager,
  ): Promise<number> {
    const [row] = (await manager.query(
      `SELECT count(*)::integer AS n FROM follows WHERE followee_id = $1`,
      [userId],
    )) as { n: number }[];
    return row.n;
  }

  async countFollowing(
    userId: number,
    manager: EntityManager = this.dataSource.manager,
  ): Promise<number> {
    const [row] = (await manager.query(
      `SELECT count(*)::integer AS n FROM follows WHERE follower_id = $1`,
      [userId],
    )) as { n: number }[];
    return row.n;
  }

  /** Newest followers first. */
  followers(
    userId: number,
    limit: number,
    manager: EntityManager = this.dataSource.manager,
  ): Promise<UserDto[]> {
    return manager.query(
      `SELECT ${PUBLIC_USER_COLUMNS} FROM follows f JOIN users u ON u.id = f.follower_id
       WHERE f.followee_id = $1 ORDER BY f.created_at DESC, f.follower_id DESC LIMIT $2`,
      [userId, limit],
    ) as Promise<UserDto[]>;
  }
}
