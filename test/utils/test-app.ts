import { DynamicModule, Module } from '@nestjs/common';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { createHttpApp, listenHttpApp, ListeningAddresses } from '@app/http';
import { AppModule } from '../../src/app.module';
import { parseEnvironment } from '../../src/config/environment';
import { LoadstarConfig } from '../../src/config/loadstar-config';
import { ApiClient } from './api-client';
import { FAST_PASSWORD_HASHING } from './password-hashing';
import { privateRateLimitKeyPrefix, RELAXED_RATE_LIMITS } from './rate-limits';
import { testLogDestination } from './test-logs';

/** A running app on a free loopback port, built exactly as `main.ts` builds it. */
export interface TestApp {
  app: NestFastifyApplication;
  config: LoadstarConfig;
  url: string;
  api: ApiClient;
  /** The operations listener's client, when `OPS_PORT` is set (on a free port). */
  ops?: ApiClient;
  close(): Promise<void>;
}

/** Root of an app with test fixtures beside the application. */
@Module({})
class FixturesRootModule {}

/**
 * @param env variables over `process.env` (e.g. a short rate-limit window). Unless given, the
 * rate limits are {@link RELAXED_RATE_LIMITS}, the limiter's keys private to this app and
 * password hashing {@link FAST_PASSWORD_HASHING}.
 * @param fixtures throw-away modules to build into the app (e.g. job handlers)
 */
export async function startTestApp(
  env: Record<string, string | undefined> = {},
  fixtures: DynamicModule['imports'] = [],
): Promise<TestApp> {
  const config = parseEnvironment({
    LOG_LEVEL: 'warn',
    ...RELAXED_RATE_LIMITS,
    ...FAST_PASSWORD_HASHING,
    RATE_LIMIT_KEY_PREFIX: privateRateLimitKeyPrefix(),
    ...process.env,
    ...env,
  });
  // the app's log lines go to a file of the test file's own, not into the test output
  const logged = { ...config, log: { ...config.log, destination: testLogDestination() } };
  const root = AppModule.forRoot(logged);
  const app = await createHttpApp(
    fixtures.length > 0 ? { module: FixturesRootModule, imports: [root, ...fixtures] } : root,
    config.http,
  );
  const operations = config.http.operations && { port: 0, host: '127.0.0.1' };
  let listening: ListeningAddresses;
  try {
    listening = await listenHttpApp(app, { port: 0, host: '127.0.0.1', operations });
  } catch (error) {
    await app.close();
    throw error;
  }
  const url = listening.api;
  return {
    app,
    config,
    url,
    api: new ApiClient(url),
    ops: listening.operations ? new ApiClient(listening.operations) : undefined,
    close: () => app.close(),
  };
}
