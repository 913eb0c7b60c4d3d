import { Injectable } from '@nestjs/common';
import { DatabaseService } from '@app/database';
import { EntityManager } from 'typeorm';

/** Thrown by {@link FollowsRepository.follow} when the user to follow does not exist. */
export class FolloweeMissingError extends Error {}

const FOREIGN_KEY_VIOLATION = '23503';

@Injectable()
export class FollowsRepository {
  constructor(private readonly database: DatabaseService) {}

  /** Idempotent: following twice is one follow. */
  async follow(followerId: number, followeeId: number): Promise<void> {
    try {
      await this.database.manager.query(
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
    await this.database.manager.query(
      `DELETE FROM follows WHERE follower_id = $1 AND followee_id = $2`,
      [followerId, followeeId],
    );
  }

  async countFollowers(
    userId: number,
    manager: EntityManager = this.database.manager,
  ): Promise<number> {
    const [row] = (await manager.query(
      `SELECT count(*)::integer AS n FROM follows WHERE followee_id = $1`,
      [userId],
    )) as { n: number }[];
    return row.n;
  }

  async countFollowing(
    userId: number,
    manager: EntityManager = this.database.manager,
  ): Promise<number> {
    const [row] = (await manager.query(
      `SELECT count(*)::integer AS n FROM follows WHERE follower_id = $1`,
      [userId],
    )) as { n: number }[];
    return row.n;
  }
}
