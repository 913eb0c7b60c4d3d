/**
 * Environment of the apps the cache suites start. Generous limits: the suites send hundreds of
 * requests from one address. No load shedding: a busy test machine stalls the event loop now
 * and then, and shedding has tests of its own.
 */
export const CACHE_TEST_ENV = {
  RATE_LIMIT_DEFAULT: '100000/1m',
  RATE_LIMIT_AUTH: '100000/1m',
  RATE_LIMIT_EXPENSIVE: '100000/1m',
  SHED_EVENT_LOOP_DELAY_MS: '0',
};
