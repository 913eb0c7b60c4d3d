import type { Server } from 'node:http';
import { DynamicModule, Module } from '@nestjs/common';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { DatabaseService } from '@app/database';
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

/**
 * How long a closing test app waits for its connections, as the graceful shutdown's drain
 * budget does in production, before it cuts them.
 */
const CLOSE_DRAIN_MS = 3_000;
/** A close still running this long says on stderr what it waits for. */
const CLOSE_REPORT_MS = 15_000;

/**
 * `app.close()` with the production shutdown's bound on connections: those still open after
 * {@link CLOSE_DRAIN_MS} (a client still sending a body answered early, e.g. an import cut at
 * its row cap) are cut. A close that still hangs names the open connections and the database
 * pools' use on stderr, so a CI log shows what held it.
 */
async function closeTestApp(app: NestFastifyApplication): Promise<void> {
  const server = app.getHttpServer() as Server;
  const database = app.get(DatabaseService);
  const report = (what: string, open: number) => {
    const pools = [{ name: 'app', ...database.poolStats() }, ...database.dedicatedPoolStats()];
    process.stderr.write(
      `test app close: ${what}; ${open} connections open, pools ${JSON.stringify(pools)}\n`,
    );
  };
  const cut = setTimeout(() => {
    server.getConnections((_error, open) => {
      if (open === 0) return;
      report(`connections still open after ${CLOSE_DRAIN_MS} ms, cutting them`, open);
      server.closeAllConnections();
    });
  }, CLOSE_DRAIN_MS);
  const slow = setTimeout(() => {
    server.getConnections((_error, open) =>
      report(`still closing after ${CLOSE_REPORT_MS} ms`, open),
    );
  }, CLOSE_REPORT_MS);
  try {
    await app.close();
  } finally {
    clearTimeout(cut);
    clearTimeout(slow);
  }
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
    close: () => closeTestApp(app),
  };
}
