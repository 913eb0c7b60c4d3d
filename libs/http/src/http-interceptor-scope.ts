import { AsyncResource } from 'node:async_hooks';
import type { NestInterceptor } from '@nestjs/common';
import { isEmpty } from '@nestjs/common/utils/shared.utils';
import { InterceptorsConsumer } from '@nestjs/core/interceptors/interceptors-consumer';
import { defer, mergeAll, type Observable } from 'rxjs';

type Intercept = InterceptorsConsumer['intercept'];

/** The async scope of the caller, for `work` run later: `AsyncResource.bind` without its wrappers. */
function inCallerScope<T>(work: () => T): () => T {
  const resource = new AsyncResource('bound-anonymous-fn');
  return () => resource.runInAsyncScope(work);
}

/**
 * Nest 11's chain of interceptors with each continuation bound to its caller's async scope as
 * Nest binds it (an AsyncLocalStorage value an interceptor sets before `next.handle()` reaches
 * the handler; an rxjs retry runs the rest of the chain again), through
 * `AsyncResource#runInAsyncScope` instead of the static `AsyncResource.bind`.
 */
const interceptInCallerScope: Intercept = async function (
  this: InterceptorsConsumer,
  interceptors: NestInterceptor[],
  args,
  instance,
  callback,
  next,
  type,
) {
  if (isEmpty(interceptors)) return next();
  const context = this.createContext(args, instance, callback);
  context.setType(type as string);
  const nextFn = async (i = 0): Promise<Observable<unknown>> => {
    if (i >= interceptors.length) {
      return defer(inCallerScope(() => this.transformDeferred(next)));
    }
    const handler = {
      handle: () => defer(inCallerScope(() => nextFn(i + 1))).pipe(mergeAll()),
    };
    return interceptors[i].intercept(context, handler) as Observable<unknown>;
  };
  return defer(() => nextFn()).pipe(mergeAll());
};

/**
 * Makes a route's interceptors cost what they do, not 18 µs per binding more. Nest 11 wraps
 * each continuation in the static `AsyncResource.bind`, which on Node 20 also builds two
 * `util.deprecate` wrappers (for the deprecated `asyncResource` property, DEP0172), each
 * re-prototyped with `Object.setPrototypeOf`: measured here 18 µs a call against 0.3 µs for
 * the same binding through an `AsyncResource`'s `runInAsyncScope`, and a route with one
 * interceptor binds twice per request. The same change raw-body made
 * (stream-utils/raw-body#173).
 *
 * Replaces `InterceptorsConsumer#intercept` only while it is the version this was written
 * against (it calls `AsyncResource.bind`); a Nest that changed it keeps its own.
 * @returns whether the replacement is installed
 */
export function bindInterceptorsInCallerScope(
  consumer: { prototype: { intercept: Intercept } } = InterceptorsConsumer,
): boolean {
  const current = consumer.prototype.intercept;
  if (current === interceptInCallerScope) return true;
  if (!current.toString().includes('AsyncResource.bind(')) return false;
  consumer.prototype.intercept = interceptInCallerScope;
  return true;
}
