/** Redis's clock in ms, as `now_ms()`. */
export const NOW_MS_LUA = `
local function now_ms()
  local time = redis.call('TIME')
  return time[1] * 1000 + math.floor(time[2] / 1000)
end`;

/**
 * The checks of a fill's store (see `FillClaim`): `fill_current(writes_key, began, started_at,
 * fence_ttl)` unless Redis lost its data since the fill began (the write counter went back)
 * or the fill is older than the fences' lifetime (a fence set after it began may have
 * expired), and `unfenced(fence_key, began)` unless that fence was set after it began.
 */
export const FILL_CHECKS_LUA = `${NOW_MS_LUA}
local function fill_current(writes_key, began, started_at, fence_ttl)
  return now_ms() - tonumber(started_at) < tonumber(fence_ttl)
    and tonumber(redis.call('GET', writes_key) or '0') >= tonumber(began)
end
local function unfenced(fence_key, began)
  return tonumber(redis.call('GET', fence_key) or '0') <= tonumber(began)
end`;

/**
 * Tag fences hold Redis's clock at the eviction (ms), not the write counter: a tag may live
 * in another slot than the keys it tags, so it cannot share their counter. `tag_fenced_since
 * (fence_key, since)` tells whether the tag was evicted at or after `since` (this node's clock).
 */
export const TAG_FENCE_LUA = `
local function tag_fenced_since(fence_key, since)
  return tonumber(redis.call('GET', fence_key) or '0') >= tonumber(since)
end`;

/**
 * `tag_key(set_key, key, ttl)`: adds `key` to a tag's set, which lives as long as its
 * longest-lived member (`PEXPIRE … NX` gives a new set a lifetime, `… GT` extends it).
 */
export const TAG_KEY_LUA = `
local function tag_key(set_key, key, ttl)
  redis.call('SADD', set_key, key)
  redis.call('PEXPIRE', set_key, ttl, 'NX')
  redis.call('PEXPIRE', set_key, ttl, 'GT')
end`;
