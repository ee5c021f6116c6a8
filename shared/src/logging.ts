// pino logger whose every line carries the current request id, user id and trace ids (AsyncLocalStorage).
import { AsyncLocalStorage } from 'node:async_hooks';
import type { Context as TraceContext } from '@opentelemetry/api';
import pino, { type Logger } from 'pino';

export type { Logger } from 'pino';

export interface RequestContext {
  /** Absent outside a request or a consumed event (a use case called from a script or a test). */
  requestId?: string;
  userId?: string;
  /** The active span's ids, set only while tracing (`shared/src/tracing`). */
  traceId?: string;
  spanId?: string;
  /**
   * OpenTelemetry's active context (the active span), set only while tracing: kept here by the SDK's
   * context manager (shared/src/tracing/context.ts) rather than in a second AsyncLocalStorage.
   */
  traceContext?: TraceContext;
  /** The write transaction open in this async context, joined by `inTransaction` (shared/src/db/transaction.ts). */
  transaction?: { db: object; trx: object };
}

export const requestContext = new AsyncLocalStorage<RequestContext>();

export function currentRequestId(): string | undefined {
  return requestContext.getStore()?.requestId;
}

/** Paths whose values never reach a log line. */
export const redactedPaths = [
  'password',
  'token',
  'access',
  'refresh',
  'authorization',
  '*.password',
  '*.token',
  '*.access',
  '*.refresh',
  '*.authorization',
  'headers.authorization',
  'headers.cookie',
  'req.headers.authorization',
  'req.headers.cookie',
  'privateKey',
  '*.privateKey',
];

export function createLogger(service: string, level = 'info'): Logger {
  return pino({
    level,
    base: { service },
    timestamp: pino.stdTimeFunctions.isoTime,
    redact: { paths: redactedPaths, censor: '[redacted]' },
    mixin() {
      const store = requestContext.getStore();
      if (!store?.requestId) return {};
      const fields: Record<string, string> = { request_id: store.requestId };
      if (store.userId) fields.user_id = store.userId;
      if (store.traceId) {
        fields.trace_id = store.traceId;
        fields.span_id = store.spanId!;
      }
      return fields;
    },
  });
}
