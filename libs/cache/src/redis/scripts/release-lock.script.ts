import { defineScript } from '@redis/client';

/** Input of {@link RELEASE_LOCK}. */
export interface ReleaseLockInput {
  lockKey: string;
  token: string;
}

/** Deletes the fill lock only if its holder is still `token` (it may have expired and moved on). */
export const RELEASE_LOCK = defineScript({
  NUMBER_OF_KEYS: 1,
  SCRIPT: `
local lock_key, token = KEYS[1], ARGV[1]
if redis.call('GET', lock_key) == token then return redis.call('DEL', lock_key) end
return 0`,
  parseCommand(parser, input: ReleaseLockInput) {
    parser.pushKey(input.lockKey);
    parser.push(input.token);
  },
  transformReply: (reply) => reply as unknown as number,
});
