import { EVICT } from './evict.script';
import { JOIN_TAGS } from './join-tags.script';
import { READ_MANY } from './read-many.script';
import { READ_OR_LOCK } from './read-or-lock.script';
import { RELEASE_LOCK } from './release-lock.script';
import { STORE_FILL } from './store-fill.script';
import { STORE_MANY } from './store-many.script';
import { TAKE_TAGGED } from './take-tagged.script';
import { WRITE } from './write.script';

/**
 * The cache's Lua scripts, registered with the node-redis client by name: each runs as
 * `EVALSHA`, sent once as `EVAL` when Redis does not know it yet (after a start or a
 * `SCRIPT FLUSH`).
 */
export const CACHE_SCRIPTS = {
  cacheReadOrLock: READ_OR_LOCK,
  cacheStoreFill: STORE_FILL,
  cacheReadMany: READ_MANY,
  cacheStoreMany: STORE_MANY,
  cacheWrite: WRITE,
  cacheEvict: EVICT,
  cacheTakeTagged: TAKE_TAGGED,
  cacheJoinTags: JOIN_TAGS,
  cacheReleaseLock: RELEASE_LOCK,
};
