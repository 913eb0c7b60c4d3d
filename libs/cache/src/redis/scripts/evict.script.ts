import { defineScript } from '@redis/client';

/** Input of {@link EVICT}. */
export interface EvictInput {
  writesKey: string;
  entries: ReadonlyArray<{ valueKey: string; fenceKey: string }>;
  fenceTtlMs: number;
}

/** An eviction: each value deleted and its fence set to the write counter's next value. */
export const EVICT = defineScript({
  SCRIPT: `
local writes_key = KEYS[1]
local fence_ttl = ARGV[1]
local written = redis.call('INCR', writes_key)
for entry = 2, #KEYS, 2 do
  local value_key, fence_key = KEYS[entry], KEYS[entry + 1]
  redis.call('UNLINK', value_key)
  redis.call('SET', fence_key, written, 'PX', fence_ttl)
end
return written`,
  parseCommand(parser, input: EvictInput) {
    const keys = [input.writesKey];
    for (const entry of input.entries) keys.push(entry.valueKey, entry.fenceKey);
    parser.pushKeysLength(keys);
    parser.push(String(input.fenceTtlMs));
  },
  transformReply: (reply) => reply as unknown as number,
});
