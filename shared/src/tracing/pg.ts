// One CLIENT span per PostgreSQL statement run inside a trace, from a single wrapper around pg's
// Client.prototype.query: knex's statements and preparedRead's named ones (which bypass knex) all pass
// there. Replaces @opentelemetry/instrumentation-pg, whose wrapper cost work 2.4 % of its busy time
// (bench/README.md, "Tracing overhead"). Installed by startTracing only.
import type { Span } from '@opentelemetry/api';
import { endStatementSpan, startStatementSpan } from './spans';

type Callback = (this: unknown, err: Error | null | undefined, result?: unknown) => unknown;
type Query = (this: unknown, config: unknown, values?: unknown, callback?: unknown) => unknown;

interface QueryConfig {
  text?: unknown;
  submit?: unknown;
  callback?: unknown;
}

const TRACED = Symbol.for('taskflow.tracing.pgQuery');

function ending(span: Span, callback: Callback): Callback {
  return function (this: unknown, err, result) {
    endStatementSpan(span, err);
    return callback.call(this, err, result);
  };
}

/**
 * Wraps `Client.prototype.query` of the pg module given (once, however often called). Outside a trace
 * (the relay's polling, LISTEN, migrations at start-up) or with tracing off the statement runs untouched.
 */
export function traceStatements(client: { prototype: { query: unknown } }): void {
  const proto = client.prototype as { query: Query & { [TRACED]?: true } };
  if (proto.query[TRACED]) return;
  const query = proto.query;
  const traced = function (this: unknown, config: unknown, values?: unknown, callback?: unknown): unknown {
    // A submittable (a cursor, a stream) ends on its own events: not traced (TaskFlow runs none).
    if (config == null || typeof (config as QueryConfig).submit === 'function') return query.call(this, config, values, callback);
    const text = typeof config === 'string' ? config : (config as QueryConfig).text;
    const span = startStatementSpan(typeof text === 'string' ? text : undefined);
    if (span === undefined) return query.call(this, config, values, callback);
    try {
      if (typeof values === 'function') return query.call(this, config, ending(span, values as Callback));
      if (typeof callback === 'function') return query.call(this, config, values, ending(span, callback as Callback));
      const own = typeof config === 'object' ? (config as QueryConfig).callback : undefined;
      if (typeof own === 'function') return query.call(this, config, values, ending(span, own as Callback));
      // No callback: pg returns a promise (preparedRead).
      return (query.call(this, config, values) as Promise<unknown>).then(
        (result) => {
          endStatementSpan(span);
          return result;
        },
        (err: unknown) => {
          endStatementSpan(span, err);
          throw err;
        },
      );
    } catch (err) {
      // pg refused the arguments before running anything.
      endStatementSpan(span, err);
      throw err;
    }
  };
  Object.defineProperty(traced, TRACED, { value: true });
  proto.query = traced as Query & { [TRACED]?: true };
}
