// first: the tracing SDK must patch modules before anything below loads them
import './tracing';
import cluster from 'node:cluster';
import { Logger } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { buildDataSourceOptions, EMBEDDED_DATABASE_NAME, EmbeddedPostgres } from '@app/database';
import { ReadinessState } from '@app/health';
import {
  awaitPromotion,
  ClusterPrimary,
  createHttpApp,
  enableGracefulShutdown,
  exitOnFatalErrors,
  isClusterStandby,
  listenHttpApp,
  ListeningAddresses,
  writeError,
} from '@app/http';
import { createLogDestination, createRootLogger, PinoLogger, PinoNestLogger } from '@app/logging';
import { answerPrimaryMetricsRequests, serveClusterMetrics } from '@app/metrics';
import { AppModule } from './app.module';
import { ConfigValidationError } from './config/config.errors';
import { parseEnvironment } from './config/environment';
import { LoadstarConfig } from './config/loadstar-config';
import { ENTITIES, MIGRATIONS } from './database/schema';

/** First words of the stderr line of a start that fails. */
const START_FAILED = 'loadstar failed to start';

/** Time the primary allows a worker beyond its shutdown delay and drain budget. */
const WORKER_CLOSE_MARGIN_MS = 10_000;

/**
 * One application process: the whole app when `CLUSTER_WORKERS=0`, else one cluster worker
 * (the standby listens only once the primary puts it in a dead worker's place). SIGTERM /
 * SIGINT start the graceful shutdown described in docs/operations.md.
 */
async function serve(config: LoadstarConfig): Promise<void> {
  if (config.clusterWorkers > 0) answerPrimaryMetricsRequests();
  const app = await createHttpApp(AppModule.forRoot(config), config.http);
  enableGracefulShutdown(app, {
    timeoutMs: config.http.shutdownTimeoutMs,
    delayMs: config.http.shutdownDelayMs,
    onShutdownStart: () => app.get(ReadinessState).markShuttingDown(),
  });
  let listening: ListeningAddresses;
  try {
    // onModuleInit hooks (Redis connections, worker threads) run here, so a standby is warm
    await app.init();
    if (isClusterStandby()) await awaitPromotion();
    listening = await listenHttpApp(app, config.http);
  } catch (error) {
    // Reported first: closing the pools, Redis and an embedded PostgreSQL this process started
    // may fail in turn (and end the process) before a rethrown error would be reported.
    writeError(START_FAILED, error);
    await app.close().catch(() => undefined);
    process.exit(1);
  }
  const logger = new Logger('Bootstrap');
  logger.log(`loadstar listening on ${listening.api}`);
  if (listening.operations) {
    logger.log(`operations routes (/health, /metrics, /docs) on ${listening.operations} only`);
  }
}

/**
 * The database every worker shares, prepared once by the primary: the embedded PostgreSQL
 * started here (N workers starting one each would race for its data folder) and the
 * migrations applied here (N workers applying them at once would race too).
 */
async function prepareSharedDatabase(
  config: LoadstarConfig,
): Promise<{ url: string; stop: () => Promise<void> }> {
  const embedded = config.database.url
    ? undefined
    : new EmbeddedPostgres({
        dataDir: config.database.embeddedDataDir,
        database: EMBEDDED_DATABASE_NAME,
      });
  const url = config.database.url ?? (await embedded!.start());
  const stop = async () => embedded?.stop();
  if (!config.database.migrationsRun) return { url, stop };
  const dataSource = new DataSource(
    buildDataSourceOptions(
      { config: { ...config.database, poolMin: 0 }, entities: ENTITIES, migrations: MIGRATIONS },
      url,
    ),
  );
  try {
    await dataSource.initialize();
    await dataSource.destroy();
  } catch (error) {
    await stop();
    throw error;
  }
  return { url, stop };
}

/**
 * `CLUSTER_WORKERS > 0`: the primary. It runs no Nest application and serves nothing itself;
 * it prepares the shared database, forks the workers (restarting crashed ones), answers their
 * requests for the cluster-wide `/metrics` over IPC, and after SIGTERM waits for them all
 * before stopping the embedded PostgreSQL.
 */
async function runClusterPrimary(config: LoadstarConfig): Promise<never> {
  const root = createRootLogger(config.log, createLogDestination(config.log));
  Logger.overrideLogger(new PinoNestLogger(new PinoLogger({ pinoHttp: { logger: root } }), {}));
  const database = await prepareSharedDatabase(config);
  const env: Record<string, string> = { DATABASE_URL: database.url };
  if (config.auth.jwtSecretGenerated) {
    // one random secret for the cluster: a token signed by one worker verifies on all
    env.JWT_SECRET = config.auth.jwtSecret;
  }
  const stopServingMetrics = serveClusterMetrics();
  const exitCode = await new ClusterPrimary({
    workers: config.clusterWorkers,
    env,
    stopTimeoutMs:
      config.http.shutdownDelayMs + config.http.shutdownTimeoutMs + WORKER_CLOSE_MARGIN_MS,
  }).run();
  stopServingMetrics();
  await database.stop();
  process.exit(exitCode);
}

async function bootstrap(): Promise<void> {
  exitOnFatalErrors();
  const config = parseEnvironment();
  if (config.clusterWorkers > 0 && cluster.isPrimary) await runClusterPrimary(config);
  else await serve(config);
}

bootstrap().catch((error: unknown) => {
  if (error instanceof ConfigValidationError) process.stderr.write(`${error.message}\n`);
  else writeError(START_FAILED, error);
  process.exit(1);
});
