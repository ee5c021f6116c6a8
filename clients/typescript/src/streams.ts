// Following TaskFlow's Server-Sent Event streams (the change feed, a person's notifications) with automatic
// reconnect and `Last-Event-ID`, so a client that drops its connection misses nothing; and iterating over
// every item of a keyset-paginated list. The SSE wire format is parsed by `eventsource-parser`.
import { createParser, type EventSourceMessage } from 'eventsource-parser';
import type { components } from './schema';

export type ActivityEntry = components['schemas']['ActivityEntry'];
export type Notification = components['schemas']['Notification'];

/** One event of a stream: its id (give it back as `lastEventId` to resume after it), name and parsed data. */
export interface StreamEvent<T> {
  id: string;
  event: string;
  data: T;
}

export interface FollowOptions {
  /** Access token; a function is asked before every (re)connection, so a refreshed token is used when the old one expires. */
  token?: string | (() => string | undefined | Promise<string | undefined>);
  /** Resume after this event (the `id` of the last one you saw). */
  lastEventId?: string;
  /** Stops following (the iteration ends without an error). */
  signal?: AbortSignal;
  /** First wait before reconnecting, doubling up to `maxRetryMs` while reconnects keep failing; a server's `retry:` field sets it. */
  retryMs?: number;
  maxRetryMs?: number;
  /** For tests and unusual runtimes; default: the global `fetch`. */
  fetch?: typeof fetch;
}

/** A refusal that reconnecting cannot fix (400, 401, 403, 404): the problem document the server sent. */
export class StreamRefusedError extends Error {
  constructor(
    readonly status: number,
    readonly problem: unknown,
  ) {
    super(`stream refused with ${status}${problem && typeof problem === 'object' && 'detail' in problem ? `: ${String(problem.detail)}` : ''}`);
  }
}

const RETRYABLE = new Set([408, 425, 429, 500, 502, 503, 504]);

/**
 * Follows the stream at `path` (e.g. `/api/v1/activity/stream/?organization=...`): yields each event with
 * its parsed `data`; when the connection drops or the server ends the stream (token expiry), reconnects
 * with `Last-Event-ID` set to the last event yielded, so the server replays what was missed. A 429 or 5xx
 * is retried after `Retry-After` (or the backoff); a 4xx that retrying cannot fix throws StreamRefusedError.
 */
export async function* followStream<T>(baseUrl: string, path: string, options: FollowOptions = {}): AsyncGenerator<StreamEvent<T>> {
  const doFetch = options.fetch ?? fetch;
  const maxRetryMs = options.maxRetryMs ?? 30_000;
  let retryMs = options.retryMs ?? 1000;
  let lastEventId = options.lastEventId;
  let failures = 0;
  const url = new URL(path, baseUrl).toString();
  while (!options.signal?.aborted) {
    let wait = Math.min(maxRetryMs, retryMs * 2 ** failures);
    try {
      const token = typeof options.token === 'function' ? await options.token() : options.token;
      const headers: Record<string, string> = { accept: 'text/event-stream' };
      if (token) headers.authorization = `Bearer ${token}`;
      if (lastEventId) headers['last-event-id'] = lastEventId;
      const response = await doFetch(url, { headers, signal: options.signal });
      if (response.status !== 200 || !response.body) {
        const problem = await response.json().catch(() => undefined);
        if (!RETRYABLE.has(response.status)) throw new StreamRefusedError(response.status, problem);
        const after = Number(response.headers.get('retry-after'));
        if (Number.isFinite(after) && after > 0) wait = Math.min(maxRetryMs, after * 1000);
        failures += 1;
      } else {
        failures = 0;
        const queue: EventSourceMessage[] = [];
        const parser = createParser({
          onEvent: (message) => queue.push(message),
          onRetry: (ms) => (retryMs = ms),
        });
        const decoder = new TextDecoder();
        for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) {
          parser.feed(decoder.decode(chunk, { stream: true }));
          while (queue.length > 0) {
            const message = queue.shift()!;
            // Only events with an id are resumable positions; every TaskFlow event has one.
            if (message.id) lastEventId = message.id;
            yield { id: message.id ?? '', event: message.event ?? 'message', data: JSON.parse(message.data) as T };
          }
        }
        // The server ended the stream (token expiry, lost access): reconnect at once; a refusal then says why.
        wait = 0;
      }
    } catch (err) {
      if (options.signal?.aborted) return;
      if (err instanceof StreamRefusedError) throw err;
      // A dropped connection or a network error: reconnect after the backoff.
      failures += 1;
    }
    if (wait > 0) await delay(wait, options.signal);
  }
}

function delay(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    }
    signal?.addEventListener('abort', done, { once: true });
  });
}

/** The change feed of one organization (or all of the caller's): `event` is the entry's verb. */
export function followActivity(baseUrl: string, options: FollowOptions & { organization?: string } = {}): AsyncGenerator<StreamEvent<ActivityEntry>> {
  const query = options.organization ? `?organization=${encodeURIComponent(options.organization)}` : '';
  return followStream<ActivityEntry>(baseUrl, `/api/v1/activity/stream/${query}`, options);
}

/** The caller's new notifications: `event` is the notification's kind. */
export function followNotifications(baseUrl: string, options: FollowOptions = {}): AsyncGenerator<StreamEvent<Notification>> {
  return followStream<Notification>(baseUrl, '/api/v1/notifications/stream/', options);
}

/** What a typed client call of a list returns (`client.GET(...)`). */
export interface PageResult<T> {
  data?: { results: T[]; next: string | null };
  error?: unknown;
  response: Response;
}

/** A list call refused (its status and problem document). */
export class PageError extends Error {
  constructor(
    readonly status: number,
    readonly problem: unknown,
  ) {
    super(`page request failed with ${status}`);
  }
}

/**
 * Every item of a keyset-paginated list, page after page: `fetchPage` is called with `undefined`, then
 * with the cursor of each `next` link until there is none.
 *
 *   for await (const task of allItems((cursor) => client.GET('/api/v1/tasks/', { params: { query: { project, cursor } } }))) ...
 */
export async function* allItems<T>(fetchPage: (cursor: string | undefined) => Promise<PageResult<T>>): AsyncGenerator<T> {
  let cursor: string | undefined;
  for (;;) {
    const page = await fetchPage(cursor);
    if (!page.data) throw new PageError(page.response.status, page.error);
    yield* page.data.results;
    if (!page.data.next) return;
    const next = new URL(page.data.next, 'http://taskflow.invalid').searchParams.get('cursor');
    if (!next || next === cursor) throw new PageError(page.response.status, { detail: `a next link without a new cursor: ${page.data.next}` });
    cursor = next;
  }
}
