// pino logger whose every line carries the current request id and user id (AsyncLocalStorage).
import { AsyncLocalStorage } from 'node:async_hooks';
import pino, { type Logger } from 'pino';

export type { Logger } from 'pino';

export interface RequestContext {
  /** Absent outside a request or a consumed event (a use case called from a script or a test). */
  requestId?: string;
  userId?: string;
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
      return store.userId ? { request_id: store.requestId, user_id: store.userId } : { request_id: store.requestId };
    },
  });
}
