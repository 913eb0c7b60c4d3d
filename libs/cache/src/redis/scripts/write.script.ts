import { defineScript } from '@redis/client';
import { FencedEntry, fencedEntryArgs } from './fenced-entries';

/** Input of {@link WRITE}. */
export interface WriteInput {
  writesKey: string;
  entries: ReadonlyArray<FencedEntry>;
  fenceTtlMs: number;
}

/**
 * A write-through: each entry's fence set to the write counter's next value, then its value
 * stored. A fill that began earlier no longer stores what it loaded over the value written.
 */
export const WRITE = defineScript({
  SCRIPT: `
local writes_key = KEYS[1]
local fence_ttl = ARGV[1]
local written = redis.call('INCR', writes_key)
for entry = 1, (#KEYS - 1) / 2 do
  local value_key, fence_key = KEYS[2 * entry], KEYS[2 * entry + 1]
  local value, ttl = ARGV[2 * entry], ARGV[2 * entry + 1]
  redis.call('SET', fence_key, written, 'PX', fence_ttl)
  redis.call('SET', value_key, value, 'PX', ttl)
end
return written`,
  parseCommand(parser, input: WriteInput) {
    const { keys, values } = fencedEntryArgs(input.writesKey, input.entries);
    parser.pushKeysLength(keys);
    parser.push(String(input.fenceTtlMs), ...values);
  },
  transformReply: (reply) => reply as unknown as number,
});
