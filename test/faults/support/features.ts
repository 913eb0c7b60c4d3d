import { startAppProcess } from '../../utils/app-process';
import { PrivateRedis } from '../../utils/private-redis';

/** Environment variable carrying the detected {@link AppFeatures} from the global setup. */
export const FEATURES_ENV = 'FAULTS_FEATURES';

/**
 * What the tree serves right now, found by asking a running app (with Redis configured), not
 * by reading the source. Helpers build several of these features concurrently; a check whose
 * feature is absent is reported as not covered instead of passing vacuously.
 */
export interface AppFeatures {
  /** `GET /health/live` answers 200. */
  healthLive: boolean;
  /** `GET /health/ready` answers 200 while everything is up. */
  healthReady: boolean;
  /** `GET /metrics` serves `db_pool_connections{state="waiting"}`. */
  poolMetric: boolean;
  /** Domain routes send rate-limit headers. */
  rateLimit: boolean;
  /** The app holds connections to `REDIS_URL`. */
  redisClient: boolean;
  /** Reading a user twice leaves a key naming them in Redis (server-side cache on Redis). */
  redisCache: boolean;
  /** `GET /api/posts/export?format=ndjson` streams posts. */
  exportRoute: boolean;
}

/** Environment every fault suite gives its app processes: limits that stay out of the way. */
export const GENEROUS_LIMITS = {
  RATE_LIMIT_DEFAULT: '1000000/1s',
  RATE_LIMIT_AUTH: '1000000/1s',
  RATE_LIMIT_EXPENSIVE: '1000000/1s',
};

/** Starts an app against a Redis of its own and asks it what it serves. */
export async function detectFeatures(): Promise<AppFeatures> {
  const redis = await PrivateRedis.start();
  const app = await startAppProcess({ REDIS_URL: redis.url, ...GENEROUS_LIMITS });
  try {
    const user = await app.api.createUser('Feature probe');
    const profile = `/api/users/${user.id}`;
    const first = await app.api.get(profile);
    await app.api.get(profile);
    const metrics = await app.api.get('/metrics');
    const exported = await app.api.get(`/api/posts/export?format=ndjson&authorId=${user.id}`);
    return {
      healthLive: (await app.api.get('/health/live')).status === 200,
      healthReady: (await app.api.get('/health/ready')).status === 200,
      poolMetric:
        metrics.status === 200 &&
        /^db_pool_connections\{[^}]*state="waiting"/m.test(String(metrics.text)),
      rateLimit: [...first.headers.keys()].some((name) => /^(x-)?ratelimit(-limit)?$/.test(name)),
      redisClient: (await redis.clientCount()) > 0,
      redisCache: (await redis.keysMentioning(user.id)) > 0,
      exportRoute: exported.status === 200,
    };
  } finally {
    await app.stop();
    await redis.kill();
  }
}

/** The features the global setup detected. */
export function appFeatures(): AppFeatures {
  const json = process.env[FEATURES_ENV];
  if (!json) throw new Error(`${FEATURES_ENV} is unset: run the suite with npm run test:faults`);
  return JSON.parse(json) as AppFeatures;
}
