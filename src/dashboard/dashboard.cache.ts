import { formatCacheKey } from '@app/cache';
import { USER_TAG } from '../users/users.cache';
import { DashboardDto } from './dto';

/** One cached dashboard per user, served to everyone. */
export const DASHBOARD_CACHE_KEY = 'dashboard:{id}';
/**
 * Dashboards change with posts, follows and the profiles they show; evictions cover the
 * first two, a tag per shown user the third, and this lifetime anything missed.
 */
export const DASHBOARD_TTL_MS = 60_000;

export function dashboardCacheKey(id: number): string {
  return formatCacheKey(DASHBOARD_CACHE_KEY, { id });
}

/** The owner and every follower shown, so a profile change evicts each dashboard showing it. */
export function dashboardTags({ user, followers }: DashboardDto): string[] {
  return [user, ...followers].map(({ id }) => formatCacheKey(USER_TAG, { id }));
}
