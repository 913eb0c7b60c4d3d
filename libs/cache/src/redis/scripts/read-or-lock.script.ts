import { defineScript } from '@redis/client';
import { NOW_MS_LUA } from './lua-helpers';

/** Input of {@link READ_OR_LOCK}. */
export interface ReadOrLockInput {
  writesKey: string;
  valueKey: string;
  lockKey: string;
  token: string;
  lockTtlMs: number;
  /** Take the lock even if the value is there: the caller means to replace it. */
  refresh: boolean;
}

/** What {@link READ_OR_LOCK} found: the serialized value, or where a fill begins. */
export type ReadOrLockReply =
  { found: string } | { found?: undefined; locked: boolean; writes: string; startedAt: number };

/**
 * The value if the key is filled (unless `refresh`), else the fill lock (`SET NX PX`) if
 * nobody holds it, and in either case where the fill begins (the write counter and Redis's
 * clock): one round trip, and no gap between "not there" and "mine to fill".
 */
export const READ_OR_LOCK = defineScript({
  NUMBER_OF_KEYS: 3,
  SCRIPT: `${NOW_MS_LUA}
local writes_key, value_key, lock_key = KEYS[1], KEYS[2], KEYS[3]
local token, lock_ttl, refresh = ARGV[1], ARGV[2], ARGV[3] == '1'
if not refresh then
  local value = redis.call('GET', value_key)
  if value then return {1, value} end
end
local locked = redis.call('SET', lock_key, token, 'NX', 'PX', lock_ttl)
return {locked and 2 or 0, redis.call('GET', writes_key) or '0', now_ms()}`,
  parseCommand(parser, input: ReadOrLockInput) {
    parser.pushKeys([input.writesKey, input.valueKey, input.lockKey]);
    parser.push(input.token, String(input.lockTtlMs), input.refresh ? '1' : '0');
  },
  transformReply: (reply): ReadOrLockReply => {
    const [state, valueOrWrites, now] = reply as unknown as [number, string, number?];
    if (state === 1) return { found: valueOrWrites };
    return { locked: state === 2, writes: valueOrWrites, startedAt: now! };
  },
});
