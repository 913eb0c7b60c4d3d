import { CallHandler } from '@nestjs/common';
import { ExecutionContextHost } from '@nestjs/core/helpers/execution-context-host';
import { setTimeout as sleep } from 'node:timers/promises';
import { lastValueFrom, Observable, of, throwError } from 'rxjs';
import { readingClient, ReadYourWritesInterceptor } from './database.read-your-writes.interceptor';
import type { DatabaseService } from './database.service';

/**
 * The part of `DatabaseService` the interceptor uses, keeping the writes it is told of once
 * each note has taken a while (as storing a fence in Redis does).
 */
class FakeDatabase {
  readonly written: string[] = [];
  async noteWrite(client: string): Promise<void> {
    await sleep(5);
    this.written.push(client);
  }
  awaitsReplay(client: string): boolean {
    return this.written.includes(client);
  }
}

describe(ReadYourWritesInterceptor.name, () => {
  let database: FakeDatabase;
  let interceptor: ReadYourWritesInterceptor;

  beforeEach(() => {
    database = new FakeDatabase();
    interceptor = new ReadYourWritesInterceptor(
      database as unknown as DatabaseService,
      (request) => (request as { user?: number }).user,
    );
  });

  /** Runs a request through the interceptor; `handle` plays the route. */
  function serve(method: string, user: number | undefined, handle: () => Observable<unknown>) {
    const context = new ExecutionContextHost([{ method, user }, {}]);
    context.setType('http');
    const next: CallHandler = { handle };
    return lastValueFrom(interceptor.intercept(context, next));
  }

  describe('#intercept', () => {
    it.each(['POST', 'PUT', 'PATCH', 'DELETE'])(
      'notes a %s by an identified client before the answer leaves',
      async (method) => {
        let notedBeforeAnswer: string[] = [];
        await serve(method, 7, () => of('created')).then(() => {
          notedBeforeAnswer = [...database.written];
        });
        expect(notedBeforeAnswer).toEqual(['7']);
      },
    );

    it('notes a failed write too: it may have committed before it failed', async () => {
      await expect(serve('POST', 7, () => throwError(() => new Error('late')))).rejects.toThrow(
        'late',
      );
      expect(database.written).toEqual(['7']);
    });

    it('notes nothing for reads and for anonymous writes', async () => {
      await serve('GET', 7, () => of('page'));
      await serve('HEAD', 7, () => of(''));
      await serve('POST', undefined, () => of('created'));
      expect(database.written).toEqual([]);
    });

    it('serves a read by a client with a pending write inside its context, and others outside any', async () => {
      await database.noteWrite('7');
      const seen = async (user: number) => serve('GET', user, () => of(readingClient.getStore()));
      expect(await seen(7)).toBe('7');
      expect(await seen(8)).toBeUndefined();
    });
  });
});
