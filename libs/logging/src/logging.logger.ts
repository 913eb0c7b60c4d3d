import pino, { DestinationStream, Logger } from 'pino';
import pinoPretty from 'pino-pretty';
import { traceLogFields } from '@app/tracing';
import { TurnBatchedDestination } from './logging.destination';
import { DEFAULT_LOG_LEVEL, REDACTED, REDACTED_PATHS } from './logging.constants';
import { LoggingModuleOptions } from './interfaces';

/**
 * Where the log lines go: the configured stream, pino-pretty when asked for and stdout is a
 * terminal, otherwise stdout through SonicBoom without waiting for each write. The lines of one
 * event-loop turn go to SonicBoom together ({@link TurnBatchedDestination}), and lines written
 * while a write is in flight join one buffer, so logging never blocks the event loop and
 * batches itself under load; what is left is written synchronously on `exit`.
 */
export function createLogDestination(options: LoggingModuleOptions = {}): DestinationStream {
  if (options.destination) return options.destination;
  if (options.pretty && process.stdout.isTTY) {
    return pinoPretty({ colorize: true, translateTime: 'SYS:HH:MM:ss.l', ignore: 'pid,hostname' });
  }
  const stdout = 1;
  return new TurnBatchedDestination(stdout);
}

/**
 * Writes out what an asynchronous destination still buffers (shutdown). Streams without a
 * synchronous flush, and ones already closed, are left alone.
 */
export function flushLogDestination(destination: DestinationStream): void {
  const { flushSync } = destination as { flushSync?: () => void };
  try {
    flushSync?.call(destination);
  } catch {
    // not opened yet or already destroyed: nothing buffered that could still be written
  }
}

/**
 * The application's root pino logger: level names instead of numbers, secrets redacted
 * (see `REDACTED_PATHS`), errors serialized with their stack and own properties.
 *
 * @example const logger = createRootLogger({ level: 'debug' }, createLogDestination());
 */
export function createRootLogger(
  options: LoggingModuleOptions,
  destination: DestinationStream,
): Logger {
  return pino(
    {
      level: options.level ?? DEFAULT_LOG_LEVEL,
      redact: { paths: [...REDACTED_PATHS], censor: REDACTED },
      formatters: { level: (label) => ({ level: label }) },
      serializers: { err: pino.stdSerializers.err },
      // trace_id / span_id of the active span: a log line leads to its trace (docs/tracing.md)
      mixin: traceLogFields,
    },
    destination,
  );
}
