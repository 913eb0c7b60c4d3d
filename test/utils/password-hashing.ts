/**
 * scrypt at N=2^12 (about 8 ms a hash) in the apps tests start, unless a test says otherwise:
 * hundreds of tests register users, which at the default N=2^17 (about 0.4 s a hash on one
 * core) would take minutes. `test/auth/password-hashing.e2e-spec.ts` runs the default, and so
 * must an app started with `NODE_ENV=production` (`PASSWORD_SCRYPT_COST_LOG2: undefined`),
 * which refuses less.
 */
export const FAST_PASSWORD_HASHING = { PASSWORD_SCRYPT_COST_LOG2: '12' };
