import { hash } from 'node:crypto';
import type { EncodedForms } from '@app/http';

/**
 * A response as cached: the JSON body already serialized and its entity tag, both computed
 * once when the entry is filled, so a hit neither serializes nor hashes.
 */
export interface CachedBody {
  body: string;
  /** A weak tag (`W/"…"`): the representation may be served compressed or not. */
  etag: string;
}

/** The weak entity tag of a body: a SHA-1 of its text, base64url. */
export function etagOf(body: string): string {
  return `W/"${hash('sha1', body, 'base64url')}"`;
}

/** Serializes `value` once and tags it. */
export function toCachedBody(value: unknown): CachedBody {
  const body = JSON.stringify(value) ?? 'null';
  return { body, etag: etagOf(body) };
}

const encodedForms = new WeakMap<CachedBody, EncodedForms>();

/**
 * The compressed forms of a cached body, filled by the compression hook on first use and kept
 * as long as the entry: a hit sent compressed is compressed once per encoding, not per response.
 */
export function encodedFormsOf(cached: CachedBody): EncodedForms {
  let forms = encodedForms.get(cached);
  if (forms === undefined) encodedForms.set(cached, (forms = { body: cached.body }));
  return forms;
}

/** Joins cached bodies into a JSON array without parsing them; `undefined` becomes `null`. */
export function jsonArrayOf(bodies: ReadonlyArray<CachedBody | undefined>): string {
  let json = '[';
  for (let i = 0; i < bodies.length; i++) {
    json += (i === 0 ? '' : ',') + (bodies[i]?.body ?? 'null');
  }
  return `${json}]`;
}

const WEAK_PREFIX = 'W/';

function opaqueTag(tag: string): string {
  return tag.startsWith(WEAK_PREFIX) ? tag.slice(WEAK_PREFIX.length) : tag;
}

/**
 * `If-None-Match` against the current tag, with the weak comparison RFC 9110 §13.1.2 asks
 * for: `*`, or any listed tag equal once `W/` is ignored.
 */
export function etagMatches(ifNoneMatch: string, etag: string): boolean {
  if (ifNoneMatch === etag || ifNoneMatch === '*') return true;
  const wanted = opaqueTag(etag);
  return ifNoneMatch.split(',').some((tag) => opaqueTag(tag.trim()) === wanted);
}
