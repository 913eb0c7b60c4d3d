import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import { INestApplication, Logger } from '@nestjs/common';

/** Time allowed after the drain for the pools, Redis and the embedded PostgreSQL to close. */
const CLOSE_CLIENTS_BUDGET_MS = 5_000;

/** Options of {@link enableGracefulShutdown}. */
export interface GracefulShutdownOptions {
  /**
   * Drain budget: how long requests in flight may still run once the listener has closed;
   * their connections are cut after it.
   */
  timeoutMs: number;
  /**
   * Wait between readiness turning 503 and the listener closing, so load balancers that
   * probe readiness stop routing here first. @default 0
   */
  delayMs?: number;
  /** Runs first on a signal, e.g. `() => app.get(ReadinessState).markShuttingDown()`. */
  onShutdownStart?: () => void;
  /** @default ['SIGTERM', 'SIGINT'] */
  signals?: NodeJS.Signals[];
}

/** The part of `process` the handlers use; a fake in unit tests. */
export type ProcessEvents = Pick<NodeJS.Process, 'on' | 'exit' | 'stderr'>;

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

function closeAfterResponse(_request: IncomingMessage, response: ServerResponse): void {
  response.setHeader('connection', 'close');
}

/**
 * The graceful shutdown on SIGTERM / SIGINT (docs/operations.md), ending the process with exit code 0:
 * `onShutdownStart` (readiness answers 503), `delayMs`, then `app.close()`, in which Nest runs
 * `onModuleDestroy`, `beforeApplicationShutdown`, closes the listener and waits until every
 * connection has ended (requests in flight answered with `Connection: close`, kept-alive
 * connections closed by their clients, never by this side), then `onApplicationShutdown`, where the worker pool, database pool, Redis clients and the embedded
 * PostgreSQL close. Connections still open after `timeoutMs` are cut; a close that still hangs
 * 5 s later ends the process with exit code 1. A second signal changes nothing.
 *
 * Used instead of Nest's `enableShutdownHooks()`, which re-raises the signal after closing
 * (the exit status then says "killed by SIGTERM", not 0) and neither waits nor bounds the drain.
 *
 * @example enableGracefulShutdown(app, { timeoutMs: 10_000, delayMs: 5_000, onShutdownStart });
 */
export function enableGracefulShutdown(
  app: INestApplication,
  options: GracefulShutdownOptions,
  target: ProcessEvents = process,
): void {
  const logger = new Logger('Shutdown');
  let started = false;
  const onSignal = (signal: NodeJS.Signals) => {
    if (started) {
      logger.log(`${signal} received again; the shutdown already under way continues`);
      return;
    }
    started = true;
    shutDown(app, options, signal, logger, (code) => target.exit(code)).then(
      () => target.exit(0),
      (error: unknown) => {
        logger.error({ err: error }, 'shutdown failed');
        target.exit(1);
      },
    );
  };
  for (const signal of options.signals ?? ['SIGTERM', 'SIGINT']) target.on(signal, onSignal);
}

async function shutDown(
  app: INestApplication,
  options: GracefulShutdownOptions,
  signal: NodeJS.Signals,
  logger: Logger,
  exit: (code: number) => void,
): Promise<void> {
  const delayMs = options.delayMs ?? 0;
  const server = app.getHttpServer() as Server;
  options.onShutdownStart?.();
  // A proxy may send a request on a kept-alive connection just as the listener closes it, and
  // it cannot retry a POST; ending each connection with its next response during the delay
  // leaves next to none idle by then.
  server.prependListener('request', closeAfterResponse);
  logger.log(
    `${signal} received: readiness answers 503; the listener closes in ${delayMs} ms, then requests in flight get ${options.timeoutMs} ms`,
  );
  await sleep(delayMs);

  // Closing an idle kept-alive connection races with a proxy sending on it: the request is
  // reset after it was sent, and a proxy may not retry a POST. So the listener only stops
  // accepting; a request still arriving on an open connection is served (with `Connection:
  // close`) and each connection ends when its client closes it, as a proxy does once its idle
  // timeout passes (nginx's upstream `keepalive_timeout`, shorter than `timeoutMs`).
  server.closeIdleConnections = () => undefined;
  const cutConnections = setTimeout(() => {
    logger.warn(
      `connections still open after ${options.timeoutMs} ms (requests running or clients idle); closing them`,
    );
    server.closeAllConnections();
  }, options.timeoutMs);
  const giveUp = setTimeout(() => {
    logger.error(`shutdown not finished ${CLOSE_CLIENTS_BUDGET_MS} ms after the drain budget`);
    exit(1);
  }, options.timeoutMs + CLOSE_CLIENTS_BUDGET_MS);
  // Neither timer may keep the process alive once everything has closed.
  cutConnections.unref();
  giveUp.unref();
  try {
    await app.close();
  } finally {
    clearTimeout(cutConnections);
    clearTimeout(giveUp);
  }
  logger.log('shut down cleanly');
}

/**
 * Writes `why` and the error's stack to stderr. Not through the logger: pino writes
 * asynchronously, so a line handed to it just before `process.exit` is lost, while a write to
 * stderr is synchronous for files, terminals and (on Linux) pipes.
 *
 * @example writeError('loadstar failed to start', error);
 */
export function writeError(why: string, error: unknown, target: ProcessEvents = process): void {
  const detail = error instanceof Error ? (error.stack ?? error.message) : String(error);
  target.stderr.write(`${why}: ${detail}\n`);
}

/**
 * Ends the process with exit code 1 after an `uncaughtException` or an `unhandledRejection`
 * (written to stderr): its state is unknown from then on, and a process that is half alive
 * (a listener up, a pool broken) is worse than one the cluster primary or the orchestrator
 * restarts. Install once, first thing.
 */
export function exitOnFatalErrors(target: ProcessEvents = process): void {
  const fail = (kind: string) => (error: unknown) => {
    writeError(`${kind}; exiting so that the process is restarted`, error, target);
    target.exit(1);
  };
  target.on('uncaughtException', fail('uncaught exception'));
  target.on('unhandledRejection', fail('unhandled promise rejection'));
}
