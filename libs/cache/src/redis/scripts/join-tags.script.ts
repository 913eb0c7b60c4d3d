import { defineScript } from '@redis/client';
import { NOW_MS_LUA, TAG_KEY_LUA } from './lua-helpers';

/** Input of {@link JOIN_TAGS}. */
export interface JoinTagsInput {
  /** Tags of one slot, other than the key's: each one's set and fence. */
  tags: ReadonlyArray<{ setKey: string; fenceKey: string }>;
  key: string;
  ttlMs: number;
}

/**
 * On Redis Cluster, a fill's tags that live in another slot than its key: the key joins
 * their sets before the value is stored (so an eviction of the tag from now on finds it), and
 * the reply is how long ago (ms, by this node's clock) the most recent of their evictions
 * was, or -1 if none is fenced. An eviction younger than the fill may have been missed (it
 * took the set before the key joined it): the fill then stores nothing. Comparing the age
 * with the fill's own duration, rather than two nodes' clocks, needs no clock agreement.
 */
export const JOIN_TAGS = defineScript({
  SCRIPT: `${NOW_MS_LUA}${TAG_KEY_LUA}
local key, ttl = ARGV[1], ARGV[2]
local now = now_ms()
local youngest = -1
for tag = 1, #KEYS, 2 do
  tag_key(KEYS[tag], key, ttl)
  local evicted = redis.call('GET', KEYS[tag + 1])
  if evicted then
    local age = now - tonumber(evicted)
    if youngest < 0 or age < youngest then youngest = age end
  end
end
return youngest`,
  parseCommand(parser, input: JoinTagsInput) {
    const keys: string[] = [];
    for (const tag of input.tags) keys.push(tag.setKey, tag.fenceKey);
    parser.pushKeysLength(keys);
    parser.push(input.key, String(input.ttlMs));
  },
  transformReply: (reply) => reply as unknown as number,
});
