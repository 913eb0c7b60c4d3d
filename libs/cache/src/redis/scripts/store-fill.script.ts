import { defineScript } from '@redis/client';
import { FILL_CHECKS_LUA, TAG_FENCE_LUA, TAG_KEY_LUA } from './lua-helpers';

/** Input of {@link STORE_FILL}. */
export interface StoreFillInput {
  writesKey: string;
  lockKey: string;
  valueKey: string;
  fenceKey: string;
  /**
   * Per tag of the value in the key's slot (every tag on one server): its set of keys and
   * its fence. Tags in other slots joined before, by `JOIN_TAGS`.
   */
  tags: ReadonlyArray<{ setKey: string; fenceKey: string }>;
  /** Where the fill began: the write counter's value and Redis's clock. */
  began: string;
  startedAt: number;
  fenceTtlMs: number;
  token: string;
  value: string;
  ttlMs: number;
  /** The cache key, added to each tag's set. */
  key: string;
}

/**
 * A fill's store: stores and tags the value only if nothing was written or evicted since
 * the fill began (neither the key nor a tag of the value); releases the lock if the fill
 * holds it. Replies 1 if stored, else 0.
 */
export const STORE_FILL = defineScript({
  SCRIPT: `${FILL_CHECKS_LUA}${TAG_FENCE_LUA}${TAG_KEY_LUA}
local writes_key, lock_key, value_key, fence_key = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
local began, started_at, fence_ttl = ARGV[1], ARGV[2], ARGV[3]
local token, value, ttl, key = ARGV[4], ARGV[5], ARGV[6], ARGV[7]
local first_tag = 5
local stored = fill_current(writes_key, began, started_at, fence_ttl) and unfenced(fence_key, began)
for tag = first_tag, #KEYS, 2 do
  local tag_fence = KEYS[tag + 1]
  stored = stored and not tag_fenced_since(tag_fence, started_at)
end
if stored then
  redis.call('SET', value_key, value, 'PX', ttl)
  for tag = first_tag, #KEYS, 2 do
    tag_key(KEYS[tag], key, ttl)
  end
end
if redis.call('GET', lock_key) == token then redis.call('DEL', lock_key) end
return stored and 1 or 0`,
  parseCommand(parser, input: StoreFillInput) {
    const keys = [input.writesKey, input.lockKey, input.valueKey, input.fenceKey];
    for (const tag of input.tags) keys.push(tag.setKey, tag.fenceKey);
    parser.pushKeysLength(keys);
    parser.push(input.began, String(input.startedAt), String(input.fenceTtlMs));
    parser.push(input.token, input.value, String(input.ttlMs), input.key);
  },
  transformReply: (reply) => (reply as unknown as number) === 1,
});
