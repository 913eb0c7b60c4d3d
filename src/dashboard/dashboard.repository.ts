import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { UserDto } from '../users/dto';
import { PUBLIC_USER_COLUMNS } from '../users/users.repository';

/** The dashboard's own SQL: the one query that joins follows to users. */
@Injectable()
export class DashboardRepository {
  constructor(@InjectDataSource() private readonly dataSource: DataSource) {}

  /** Newest followers first. */
  followers(userId: number, limit: number): Promise<UserDto[]> {
    return this.dataSource.query(
      `SELECT ${PUBLIC_USER_COLUMNS} FROM follows f JOIN users u ON u.id = f.follower_id
       WHERE f.followee_id = $1 ORDER BY f.created_at DESC, f.follower_id DESC LIMIT $2`,
      [userId, limit],
    ) as Promise<UserDto[]>;
  }
}
