import {
  BadRequestException,
  ForbiddenException,
  Injectable,
  NotFoundException,
} from '@nestjs/common';
import { CacheService, CachedBody, jsonArrayOf, toCachedBody } from '@app/cache';
import { MeDto, UpdateUserDto, UserDto } from './dto';
import { userCacheKey } from './users.cache';
import { UsersRepository } from './users.repository';

/** Most ids `GET /api/users?ids=` answers at once. */
export const USERS_BATCH_MAX = 100;

@Injectable()
export class UsersService {
  constructor(
    private readonly users: UsersRepository,
    private readonly cache: CacheService,
  ) {}

  async me(id: number): Promise<MeDto> {
    const user = await this.users.findPrivate(id);
    if (!user) throw new NotFoundException('your account no longer exists');
    return user;
  }

  async get(id: number): Promise<UserDto> {
    const user = await this.users.findPublic(id);
    if (!user) throw new NotFoundException(`user ${id} not found`);
    return user;
  }

  /**
   * A JSON array in the order asked, `null` for unknown ids, assembled from the cached bodies
   * `GET /api/users/:id` serves: one cache multi-get, one query for every miss.
   */
  async getMany(ids: readonly number[]): Promise<string> {
    const keys = ids.map(userCacheKey);
    const idsByKey = new Map(keys.map((key, i) => [key, ids[i]]));
    const bodies = await this.cache.wrapMany<CachedBody>(keys, async (missing) => {
      const users = await this.users.findManyPublic(missing.map((key) => idsByKey.get(key)!));
      return new Map(users.map((user) => [userCacheKey(user.id), toCachedBody(user)]));
    });
    return jsonArrayOf(bodies);
  }

  async update(id: number, callerId: number, changes: UpdateUserDto): Promise<MeDto> {
    if (id !== callerId) throw new ForbiddenException('you may only change your own profile');
    if (changes.name === undefined && changes.bio === undefined) {
      throw new BadRequestException('nothing to change: send name and/or bio');
    }
    const user = await this.users.update(id, changes);
    if (!user) throw new NotFoundException('your account no longer exists');
    return user;
  }
}
