import { defineScript } from '@redis/client';
import { FencedEntry, fencedEntryArgs } from './fenced-entries';
import { FILL_CHECKS_LUA } from './lua-helpers';

/** Input of {@link STORE_MANY}. */
export interface StoreManyInput {
  writesKey: string;
  entries: ReadonlyArray<FencedEntry>;
  /** Where the fill began: the write counter's value and Redis's clock. */
  began: string;
  startedAt: number;
  fenceTtlMs: number;
}

/**
 * A batch fill's store: each entry not written or evicted since the fill began. Replies 1 or
 * 0 per entry.
 */
export const STORE_MANY = defineScript({
  SCRIPT: `${FILL_CHECKS_LUA}
local writes_key = KEYS[1]
local began, started_at, fence_ttl = ARGV[1], ARGV[2], ARGV[3]
local current = fill_current(writes_key, began, started_at, fence_ttl)
local stored = {}
for entry = 1, (#KEYS - 1) / 2 do
  local value_key, fence_key = KEYS[2 * entry], KEYS[2 * entry + 1]
  local value, ttl = ARGV[2 + 2 * entry], ARGV[3 + 2 * entry]
  stored[entry] = 0
  if current and unfenced(fence_key, began) then
    redis.call('SET', value_key, value, 'PX', ttl)
    stored[entry] = 1
  end
end
return stored`,
  parseCommand(parser, input: StoreManyInput) {
    const { keys, values } = fencedEntryArgs(input.writesKey, input.entries);
    parser.pushKeysLength(keys);
    parser.push(input.began, String(input.startedAt), String(input.fenceTtlMs), ...values);
  },
  transformReply: (reply) => (reply as unknown as number[]).map((stored) => stored === 1),
});
