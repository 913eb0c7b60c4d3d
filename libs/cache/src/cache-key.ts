import { RESERVED_KEY_SEGMENTS } from './cache.constants';
import { CacheKeyTemplate } from './interfaces';

/** What a key template is filled from: the route's parameters and the authenticated caller. */
export interface CacheKeySource {
  params?: Readonly<Record<string, string | undefined>>;
  user?: { id: number };
}

/** A template compiled once, at the first request of its route. */
export interface CompiledCacheKey {
  template: CacheKeyTemplate;
  /** The cache's name in metrics: the template's first segment (`user` of `user:{id}`). */
  name: string;
  /**
   * The key for a request; `undefined` when a parameter is not a plain token (say `../x` or
   * 10 kB of text), so the request bypasses the cache and validation answers it.
   */
  build(source: CacheKeySource): string | undefined;
}

const PLACEHOLDER = /\{(\w+)\}/g;
/** Route parameters that may become part of a key. */
const SAFE_VALUE = /^[\w.@-]{1,64}$/;
export const USER_PLACEHOLDER = 'user';

/** @throws Error when the template starts with a reserved segment (`lock`, `tag`). */
export function compileCacheKey(template: CacheKeyTemplate): CompiledCacheKey {
  const name = /^[^:{]*/.exec(template)![0] || template;
  if (RESERVED_KEY_SEGMENTS.includes(name)) {
    throw new Error(`cache key template "${template}" starts with the reserved "${name}:"`);
  }
  // Alternating literal / placeholder parts: literals at even indexes.
  const parts = template.split(PLACEHOLDER);
  const build = (source: CacheKeySource): string | undefined => {
    let key = parts[0];
    for (let i = 1; i < parts.length; i += 2) {
      const value = placeholderValue(parts[i], source, template);
      if (value === undefined) return undefined;
      key += value + parts[i + 1];
    }
    return key;
  };
  return { template, name, build };
}

function placeholderValue(
  placeholder: string,
  source: CacheKeySource,
  template: string,
): string | undefined {
  if (placeholder === USER_PLACEHOLDER) {
    if (source.user === undefined) {
      throw new Error(`cache key "${template}" needs {user}: the route must be authenticated`);
    }
    return String(source.user.id);
  }
  const value = source.params?.[placeholder];
  return value !== undefined && SAFE_VALUE.test(value) ? value : undefined;
}

/** The placeholders of a template, `user` included. */
export function placeholdersOf(template: CacheKeyTemplate): string[] {
  return [...template.matchAll(PLACEHOLDER)].map((match) => match[1]);
}

/**
 * Fills a template outside a request (services, scripts).
 * @example formatCacheKey('user:{id}', { id: 42 }) // 'user:42'
 */
export function formatCacheKey(
  template: CacheKeyTemplate,
  values: Readonly<Record<string, string | number>>,
): string {
  return template.replace(PLACEHOLDER, (_, name: string) => {
    if (values[name] === undefined) throw new Error(`cache key "${template}" needs {${name}}`);
    return String(values[name]);
  });
}
