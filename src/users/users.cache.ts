import { formatCacheKey } from '@app/cache';
import { DashboardDto, MeDto, UserDto } from './dto';

/** A public profile: read by `GET /api/users/:id` and the batch read, written by `PATCH`. */
export const USER_CACHE_KEY = 'user:{id}';
/** The caller's own view, email included: one entry per user, never shared. */
export const ME_CACHE_KEY = 'me:{user}';
export const DASHBOARD_CACHE_KEY = 'dashboard:{id}';
/** The caller's own dashboard: evicted by their posts and follows. */
export const DASHBOARD_OF_CALLER = 'dashboard:{user}';
/**
 * Dashboards change with posts, follows and the profiles they show; evictions cover the
 * first two, a tag per shown user the third, and this lifetime anything missed.
 */
export const DASHBOARD_TTL_MS = 60_000;
/** Tag of every cached entry that shows the user (their dashboard, dashboards listing them). */
export const USER_TAG = 'user:{id}';

export function userCacheKey(id: number): string {
  return formatCacheKey(USER_CACHE_KEY, { id });
}

/** `GET /api/users/:id`'s view of a user, with its fields in the same order as the query's. */
export function toPublicUser({ id, name, bio, createdAt, updatedAt }: MeDto): UserDto {
  return { id, name, bio, createdAt, updatedAt };
}

/** The owner and every follower shown. */
export function dashboardTags({ user, followers }: DashboardDto): string[] {
  return [user, ...followers].map(({ id }) => formatCacheKey(USER_TAG, { id }));
}
