import type { DestinationStream, LevelWithSilent } from 'pino';

/** Options of {@link LoggingModule} (`LOG_*` variables in docs/configuration.md). */
export interface LoggingModuleOptions {
  /**
   * Lowest level written (`LOG_LEVEL`).
   * @default 'info'
   */
  level?: LevelWithSilent;
  /**
   * Requests slower than this many milliseconds are logged at `warn` (`LOG_SLOW_REQUEST_MS`).
   * @default 500
   */
  slowRequestMs?: number;
  /**
   * Pretty-print with pino-pretty, which happens only when stdout is also a terminal: piped or
   * collected output stays one JSON object per line.
   * @default false
   */
  pretty?: boolean;
  /**
   * Where the JSON lines go. Default: stdout through an asynchronous buffer that is flushed on
   * shutdown and on exit. Tests pass a stream to read what was logged.
   * @example { destination: { write: (line: string) => lines.push(line) } }
   */
  destination?: DestinationStream;
  /**
   * Route templates starting with one of these are operational traffic (probes, scrapes,
   * API docs): their access-log lines are written at `debug`, not `info`.
   * @default ['/health', '/metrics', '/docs']
   */
  quietRoutes?: string[];
}
