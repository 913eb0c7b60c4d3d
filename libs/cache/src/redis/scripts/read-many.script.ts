import { defineScript } from '@redis/client';
import { NOW_MS_LUA } from './lua-helpers';

/** Input of {@link READ_MANY}. */
export interface ReadManyInput {
  writesKey: string;
  valueKeys: readonly string[];
}

/** What {@link READ_MANY} read: where a fill begins, and the serialized values (`null` if none). */
export interface ReadManyReply {
  writes: string;
  startedAt: number;
  values: Array<string | null>;
}

/**
 * A batch read, and where the fill of the missing keys begins.
 */
export const READ_MANY = defineScript({
  SCRIPT: `${NOW_MS_LUA}
local writes_key = KEYS[1]
local reply = {redis.call('GET', writes_key) or '0', now_ms()}
for value = 2, #KEYS do reply[#reply + 1] = redis.call('GET', KEYS[value]) end
return reply`,
  parseCommand(parser, input: ReadManyInput) {
    parser.pushKeysLength([input.writesKey, ...input.valueKeys]);
  },
  transformReply: (reply): ReadManyReply => {
    const [writes, startedAt, ...values] = reply as unknown as [
      string,
      number,
      ...(string | null)[],
    ];
    return { writes, startedAt, values };
  },
});
