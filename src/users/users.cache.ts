import { formatCacheKey } from '@app/cache';
import { MeDto, UserDto } from './dto';

/** A public profile: read by `GET /api/users/:id` and the batch read, written by `PATCH`. */
export const USER_CACHE_KEY = 'user:{id}';
/** The caller's own view, email included: one entry per user, never shared. */
export const ME_CACHE_KEY = 'me:{user}';
/** Tag of every cached entry that shows the user (their dashboard, dashboards listing them). */
export const USER_TAG = 'user:{id}';

export function userCacheKey(id: number): string {
  return formatCacheKey(USER_CACHE_KEY, { id });
}

/** `GET /api/users/:id`'s view of a user, with its fields in the same order as the query's. */
export function toPublicUser({ id, name, bio, createdAt, updatedAt }: MeDto): UserDto {
  return { id, name, bio, createdAt, updatedAt };
}
