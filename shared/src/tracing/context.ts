// OpenTelemetry's active context kept in the request context (shared/src/logging.ts) instead of a second
// AsyncLocalStorage. Node 20 copies every AsyncLocalStorage's store onto every promise and callback a
// traced request creates, so the SDK's default manager doubled that cost beside the logger's store.
// Loaded by startTracing only: a process without tracing never loads it.
import type { Context } from '@opentelemetry/api';
import { ROOT_CONTEXT } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { type RequestContext, requestContext } from '../logging';

/**
 * The SDK's AsyncLocalStorage manager with its storage swapped for `requestContext`'s `traceContext`
 * field: `bind` (functions and event emitters) is inherited and goes through `with`. Its own
 * AsyncLocalStorage is created by the base class but never entered, so Node never propagates it.
 */
export class RequestContextManager extends AsyncLocalStorageContextManager {
  override active(): Context {
    return requestContext.getStore()?.traceContext ?? ROOT_CONTEXT;
  }

  override with<A extends unknown[], F extends (...args: A) => ReturnType<F>>(context: Context, fn: F, thisArg?: ThisParameterType<F>, ...args: A): ReturnType<F> {
    const store = requestContext.getStore();
    const cb = thisArg == null ? fn : (fn.bind(thisArg) as F);
    // Already active (a bound callback called where it was bound): no new store, like AsyncLocalStorage.run.
    if (store?.traceContext === context || (store === undefined && context === ROOT_CONTEXT)) return cb(...args);
    return requestContext.run({ ...store, traceContext: context }, cb, ...args);
  }

  override enable(): this {
    return this;
  }

  /** Leaves the request context alone (the logger's): from now on `active()` is whatever it carries. */
  override disable(): this {
    return this;
  }

  /** Imperative form of `with`, as the base class: `dispose()` puts the previous store back. */
  override attach(context: Context): { dispose(): void } {
    const previous = requestContext.getStore();
    requestContext.enterWith({ ...previous, traceContext: context } satisfies RequestContext);
    let disposed = false;
    return {
      dispose: () => {
        if (disposed) return;
        disposed = true;
        requestContext.enterWith(previous ?? {});
      },
    };
  }
}
