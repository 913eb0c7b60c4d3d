import { createHmac } from 'node:crypto';
import { SHARED_TEST_JWT_SECRET } from '../../utils/app-process';

const encode = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');

/** A JWT with any header, claims and HMAC (`alg` HS256/HS384/HS512), or unsigned for `none`. */
export function forgeJwt(
  header: Record<string, unknown>,
  claims: Record<string, unknown>,
  secret = SHARED_TEST_JWT_SECRET,
): string {
  const unsigned = `${encode(header)}.${encode(claims)}`;
  const digest = /^HS(256|384|512)$/.exec(String(header.alg))?.[1];
  if (!digest) return `${unsigned}.`;
  return `${unsigned}.${createHmac(`sha${digest}`, secret).update(unsigned).digest('base64url')}`;
}

const now = () => Math.floor(Date.now() / 1000);

/**
 * Tokens that must all be refused with 401, made from a real token of user `id` (signed by the
 * app processes' shared secret) and from scratch.
 */
export function hostileTokens(validToken: string, id: number, otherId: number) {
  const [header, claims, signature] = validToken.split('.');
  const flipped =
    signature.slice(0, 10) + (signature[10] === 'A' ? 'B' : 'A') + signature.slice(11);
  // the default iss and aud, so that each token is refused for its own fault only
  const alive = {
    sub: String(id),
    iat: now(),
    exp: now() + 3600,
    iss: 'loadstar',
    aud: 'loadstar-api',
  };
  return {
    'tampered signature': `${header}.${claims}.${flipped}`,
    'claims swapped for another user': `${header}.${encode({ ...alive, sub: String(otherId) })}.${signature}`,
    expired: forgeJwt(
      { alg: 'HS256', typ: 'JWT' },
      { ...alive, iat: now() - 7200, exp: now() - 3600 },
    ),
    'not yet valid': forgeJwt({ alg: 'HS256', typ: 'JWT' }, { ...alive, nbf: now() + 3600 }),
    'alg none': forgeJwt({ alg: 'none', typ: 'JWT' }, alive),
    'alg None, signature kept': `${encode({ alg: 'None', typ: 'JWT' })}.${encode(alive)}.${signature}`,
    'alg HS512': forgeJwt({ alg: 'HS512', typ: 'JWT' }, alive),
    'another secret': forgeJwt({ alg: 'HS256', typ: 'JWT' }, alive, 'x'.repeat(48)),
    'negative subject': forgeJwt({ alg: 'HS256', typ: 'JWT' }, { ...alive, sub: '-1' }),
    'injection subject': forgeJwt({ alg: 'HS256', typ: 'JWT' }, { ...alive, sub: '1 OR 1=1' }),
    'no subject': forgeJwt({ alg: 'HS256', typ: 'JWT' }, { ...alive, sub: undefined }),
    'no expiry': forgeJwt({ alg: 'HS256', typ: 'JWT' }, { ...alive, exp: undefined }),
    garbage: 'not.a.token',
    empty: '',
  };
}
