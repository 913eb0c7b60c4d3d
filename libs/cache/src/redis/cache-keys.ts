import {
  CACHE_FENCE_PREFIX,
  CACHE_LOCK_PREFIX,
  CACHE_NAMESPACE,
  CACHE_TAG_PREFIX,
  CACHE_WRITES_KEY,
} from '../cache.constants';

/*
 * The cache's keys in Redis. Everything one cache key needs in a script (its value, fill lock
 * and fence) carries the key as its hash tag, so on Redis Cluster it lives in the key's slot:
 * entries spread over every slot as the keys do. A tag's set and fence carry the tag as theirs.
 * Braces in a cache key change nothing: every name of a key starts with the same brace-free
 * prefix, so they share the hash tag (the text up to the key's first `}`) whatever it is.
 */

/** `loadstar:v2:{<key>}`. */
export function valueKeyOf(key: string): string {
  return `${CACHE_NAMESPACE}:{${key}}`;
}

export function lockKeyOf(key: string): string {
  return `${CACHE_LOCK_PREFIX}{${key}}`;
}

export function fenceKeyOf(key: string): string {
  return `${CACHE_FENCE_PREFIX}{${key}}`;
}

/** A tag's set of keys and its fence, in the tag's slot. */
export function tagKeysOf(tag: string): { setKey: string; fenceKey: string } {
  return { setKey: `${CACHE_TAG_PREFIX}{${tag}}`, fenceKey: `${CACHE_FENCE_PREFIX}tag:{${tag}}` };
}

/**
 * The write counter of the keys of `slot` (one counter per slot in use, since a script's keys
 * must share a slot), or the one counter of a single server (`slot` undefined).
 */
export function writesKeyOf(slot: number | undefined, hashTagOf: (slot: number) => string): string {
  return slot === undefined ? CACHE_WRITES_KEY : `${CACHE_WRITES_KEY}:{${hashTagOf(slot)}}`;
}
