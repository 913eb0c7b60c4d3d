import { Injectable } from '@nestjs/common';
import { DatabaseService } from '@app/database';
import { EntityManager } from 'typeorm';
import { MeDto, UserDto } from './dto';

/** Columns of a public user, shared by every query that returns one. */
export const PUBLIC_USER_COLUMNS = `u.id, u.name, u.bio,
  to_json(u.created_at) #>> '{}' AS "createdAt", to_json(u.updated_at) #>> '{}' AS "updatedAt"`;

/** What login needs: the id and the stored password hash. */
export interface UserCredentials {
  id: number;
  passwordHash: string;
}

/** Fields a user may change about themselves. */
export interface UserChanges {
  name?: string;
  bio?: string;
}

/** Thrown by {@link UsersRepository.create} when the email is taken. */
export class EmailTakenError extends Error {}

const UNIQUE_VIOLATION = '23505';

/**
 * SQL for users. Rows come back already in their public JSON form (ISO timestamps), so what
 * is cached and served is exactly what was read.
 */
@Injectable()
export class UsersRepository {
  constructor(private readonly database: DatabaseService) {}

  /** With `manager`, in that transaction. */
  async create(
    email: string,
    passwordHash: string,
    name: string,
    manager: EntityManager = this.database.manager,
  ): Promise<MeDto> {
    try {
      const [row] = (await manager.query(
        `INSERT INTO users AS u (email, password_hash, name) VALUES ($1, $2, $3)
         RETURNING ${PUBLIC_USER_COLUMNS}, u.email`,
        [email, passwordHash, name],
      )) as MeDto[];
      return row;
    } catch (error) {
      if ((error as { code?: string }).code === UNIQUE_VIOLATION) throw new EmailTakenError();
      throw error;
    }
  }

  async findCredentials(email: string): Promise<UserCredentials | undefined> {
    const [row] = (await this.database.manager.query(
      `SELECT id, password_hash AS "passwordHash" FROM users WHERE email = $1`,
      [email],
    )) as UserCredentials[];
    return row;
  }

  /**
   * Replaces a password hash with a stronger one of the same password, unless it changed
   * meanwhile (a concurrent rehash or password change keeps its own).
   */
  async replacePasswordHash(id: number, previous: string, next: string): Promise<void> {
    await this.database.manager.query(
      `UPDATE users SET password_hash = $3 WHERE id = $1 AND password_hash = $2`,
      [id, previous, next],
    );
  }

  async findPublic(id: number): Promise<UserDto | undefined> {
    const [row] = (await this.database.manager.query(
      `SELECT ${PUBLIC_USER_COLUMNS} FROM users u WHERE u.id = $1`,
      [id],
    )) as UserDto[];
    return row;
  }

  async findPrivate(id: number): Promise<MeDto | undefined> {
    const [row] = (await this.database.manager.query(
      `SELECT ${PUBLIC_USER_COLUMNS}, u.email FROM users u WHERE u.id = $1`,
      [id],
    )) as MeDto[];
    return row;
  }

  /** One query for many ids; the result holds only the users that exist, in no order. */
  findManyPublic(ids: readonly number[]): Promise<UserDto[]> {
    return this.database.manager.query(
      `SELECT ${PUBLIC_USER_COLUMNS} FROM users u WHERE u.id = ANY($1::bigint[])`,
      [ids],
    ) as Promise<UserDto[]>;
  }

  async update(id: number, changes: UserChanges): Promise<MeDto | undefined> {
    const [rows] = (await this.database.manager.query(
      `UPDATE users AS u SET name = COALESCE($2, u.name), bio = COALESCE($3, u.bio),
         version = u.version + 1, updated_at = now()
       WHERE u.id = $1 RETURNING ${PUBLIC_USER_COLUMNS}, u.email`,
      [id, changes.name ?? null, changes.bio ?? null],
    )) as [MeDto[], number];
    return rows[0];
  }
}
