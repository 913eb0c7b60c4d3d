import { AsyncLocalStorage } from 'node:async_hooks';
import { CallHandler, ExecutionContext, NestInterceptor } from '@nestjs/common';
import {
  catchError,
  concatWith,
  defer,
  ignoreElements,
  mergeMap,
  Observable,
  throwError,
} from 'rxjs';
import type { DatabaseService } from './database.service';

/** Methods that change nothing (RFC 9110 §9.2.1): their requests are reads. */
const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

/**
 * The client whose request is being served, set only while that client may have a write
 * replicas have not replayed yet; `DatabaseService.onReplica()` reads it.
 *
 * @internal
 */
export const readingClient = new AsyncLocalStorage<string>();

/** Who a request comes from (e.g. the user its access token proves), or `undefined`. */
export type IdentifyClient = (request: unknown) => string | number | undefined;

/**
 * Read-your-writes across replicas: a request that may write (any method but GET, HEAD and
 * OPTIONS), from an identified client, is noted when it ends, successful or not, and the
 * client has the answer only once the note is kept; that client's next reads, in any process
 * sharing the app's Redis, go to a replica that has replayed the write, or to the primary
 * (docs/scaling-out.md). Without Redis, a read by a client with no such write costs one
 * `identify` and one map lookup. Register it globally when replicas are configured.
 *
 * @example
 * { provide: APP_INTERCEPTOR, inject: [DatabaseService], useFactory: (database) =>
 *   new ReadYourWritesInterceptor(database, (request) => userOf(request)?.id) }
 */
export class ReadYourWritesInterceptor implements NestInterceptor {
  constructor(
    private readonly database: DatabaseService,
    private readonly identify: IdentifyClient,
  ) {}

  intercept(context: ExecutionContext, next: CallHandler): Observable<unknown> {
    if (context.getType() !== 'http') return next.handle();
    const request = context.switchToHttp().getRequest<{ method: string }>();
    const identity = this.identify(request);
    if (identity === undefined) return next.handle();
    const client = String(identity);
    if (!SAFE_METHODS.has(request.method)) {
      const note = defer(() => this.database.noteWrite(client));
      return next.handle().pipe(
        catchError((error: unknown) => note.pipe(mergeMap(() => throwError(() => error)))),
        concatWith(note.pipe(ignoreElements())),
      );
    }
    if (!this.database.awaitsReplay(client)) return next.handle();
    return new Observable((subscriber) =>
      readingClient.run(client, () => next.handle().subscribe(subscriber)),
    );
  }
}
