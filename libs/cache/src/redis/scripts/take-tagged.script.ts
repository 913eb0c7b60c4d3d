import { defineScript } from '@redis/client';
import { NOW_MS_LUA } from './lua-helpers';

/** Input of {@link TAKE_TAGGED}. */
export interface TakeTaggedInput {
  tags: ReadonlyArray<{ setKey: string; fenceKey: string }>;
  fenceTtlMs: number;
}

/**
 * A tag eviction: replies the members of the tags' sets, deletes the sets and fences the
 * tags (with Redis's clock) at once, so a fill of an entry tagged with one of them, running
 * now, does not store it. The tags share a slot.
 */
export const TAKE_TAGGED = defineScript({
  SCRIPT: `${NOW_MS_LUA}
local fence_ttl = ARGV[1]
local evicted = now_ms()
local members = {}
for tag = 1, #KEYS, 2 do
  local tag_set, tag_fence = KEYS[tag], KEYS[tag + 1]
  for _, member in ipairs(redis.call('SMEMBERS', tag_set)) do members[#members + 1] = member end
  redis.call('DEL', tag_set)
  redis.call('SET', tag_fence, evicted, 'PX', fence_ttl)
end
return members`,
  parseCommand(parser, input: TakeTaggedInput) {
    const keys: string[] = [];
    for (const tag of input.tags) keys.push(tag.setKey, tag.fenceKey);
    parser.pushKeysLength(keys);
    parser.push(String(input.fenceTtlMs));
  },
  transformReply: (reply) => reply as unknown as string[],
});
