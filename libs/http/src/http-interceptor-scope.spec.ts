import { AsyncLocalStorage, AsyncResource } from 'node:async_hooks';
import type { CallHandler, ExecutionContext, NestInterceptor } from '@nestjs/common';
import { InterceptorsConsumer } from '@nestjs/core/interceptors/interceptors-consumer';
import { firstValueFrom, isObservable, retry } from 'rxjs';
import { bindInterceptorsInCallerScope } from './http-interceptor-scope';

class NestOwn extends InterceptorsConsumer {}
class Replaced extends InterceptorsConsumer {}

const scope = new AsyncLocalStorage<string>();

/** Runs the rest of the chain with `value` in {@link scope}, as a tracing or context interceptor does. */
const setting = (value: string): NestInterceptor => ({
  intercept: (_context: ExecutionContext, next: CallHandler) =>
    scope.run(value, () => next.handle()),
});

async function run(
  consumer: InterceptorsConsumer,
  interceptors: NestInterceptor[],
  handler: () => Promise<unknown>,
): Promise<unknown> {
  const chain = await consumer.intercept(
    interceptors,
    [{}, {}],
    { constructor: class Controller {} },
    () => undefined,
    handler,
    'http',
  );
  // without interceptors the chain is the handler's own answer
  return isObservable(chain) ? firstValueFrom(chain) : chain;
}

describe('bindInterceptorsInCallerScope', () => {
  beforeAll(() => expect(bindInterceptorsInCallerScope(Replaced)).toBe(true));

  it('replaces the method of the Nest it was written against, once', () => {
    expect(Replaced.prototype.intercept).not.toBe(InterceptorsConsumer.prototype.intercept);
    const installed = Replaced.prototype.intercept;
    expect(bindInterceptorsInCallerScope(Replaced)).toBe(true);
    expect(Replaced.prototype.intercept).toBe(installed);
  });

  it('leaves a chain that does not call AsyncResource.bind alone', () => {
    const own = async () => Promise.resolve(undefined);
    const consumer = { prototype: { intercept: own } };
    expect(bindInterceptorsInCallerScope(consumer as never)).toBe(false);
    expect(consumer.prototype.intercept).toBe(own);
  });

  it('binds without the static AsyncResource.bind', async () => {
    const bind = jest.spyOn(AsyncResource, 'bind');
    try {
      await run(new Replaced(), [setting('a'), setting('b')], () => Promise.resolve('done'));
      expect(bind).not.toHaveBeenCalled();
    } finally {
      bind.mockRestore();
    }
  });

  describe.each([
    ["Nest's own chain", () => new NestOwn()],
    ['the replacement', () => new Replaced()],
  ])('%s', (_name, consumer) => {
    it('answers the handler’s result, and the handler alone without interceptors', async () => {
      expect(await run(consumer(), [setting('a')], () => Promise.resolve('result'))).toBe('result');
      expect(await run(consumer(), [], () => Promise.resolve('bare'))).toBe('bare');
    });

    it('carries what an interceptor puts in AsyncLocalStorage to the next one and the handler', async () => {
      const seen: (string | undefined)[] = [];
      const observing: NestInterceptor = {
        intercept: (_context, next) => {
          seen.push(scope.getStore());
          return next.handle();
        },
      };
      const answer = await run(consumer(), [setting('outer'), observing, setting('inner')], () =>
        Promise.resolve(scope.getStore()),
      );
      expect(seen).toEqual(['outer']);
      expect(answer).toBe('inner');
    });

    it('runs the rest of the chain again when an interceptor retries', async () => {
      let calls = 0;
      const retrying: NestInterceptor = {
        intercept: (_context, next) => next.handle().pipe(retry(1)),
      };
      const answer = await run(consumer(), [retrying], () =>
        ++calls === 1 ? Promise.reject(new Error('first fails')) : Promise.resolve(calls),
      );
      expect(answer).toBe(2);
    });

    it('rejects with the handler’s error', async () => {
      await expect(
        run(consumer(), [setting('a')], () => Promise.reject(new Error('handler failed'))),
      ).rejects.toThrow('handler failed');
    });
  });
});
