import type { Logger } from 'pino';
import { storage, type Store } from 'nestjs-pino/storage';

/**
 * The request context that nestjs-pino's `Logger`/`PinoLogger` read from its
 * AsyncLocalStorage: the logger of the request being served. The child logger (which
 * serializes its bindings once) is made only when something is logged while serving the
 * request, so requests that log nothing but their access line allocate nothing else.
 *
 * @internal
 */
export class RequestLogContext implements Store {
  responseLogger?: Logger;
  private child?: Logger;

  constructor(
    private readonly root: Logger,
    readonly requestId: string,
  ) {}

  get logger(): Logger {
    return (this.child ??= this.root.child({ requestId: this.requestId }));
  }

  /** `PinoLogger.assign()` replaces the logger with a child carrying more fields. */
  set logger(logger: Logger) {
    this.child = logger;
  }
}

/** Id of the request being served, if any (for work it hands to another process). */
export function currentRequestId(): string | undefined {
  return (storage.getStore() as RequestLogContext | undefined)?.requestId;
}
