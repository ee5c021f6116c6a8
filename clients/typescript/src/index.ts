// The typed TaskFlow client: paths, bodies and responses are checked at compile time against the
// OpenAPI document the services serve (regenerate with `npm run generate:client`).
import createClient, { type Client, type Middleware } from 'openapi-fetch';
import type { components, operations, paths } from './schema';

export type { components, operations, paths };
/** The document's named schemas as types: `Task`, `TaskPage`, `Organization`, `Member`, `Invite`, `User`, `ActivityEntry`, `Problem`, ... */
export type * from './schema';
export type TaskflowClient = Client<paths>;

export interface ClientOptions {
  /** Access token sent as `Authorization: Bearer ...`; a function is asked before every request. */
  token?: string | (() => string | undefined);
  headers?: Record<string, string>;
}

export function createTaskflowClient(baseUrl: string, options: ClientOptions = {}): TaskflowClient {
  const client = createClient<paths>({ baseUrl, headers: options.headers });
  const auth: Middleware = {
    onRequest({ request }) {
      const token = typeof options.token === 'function' ? options.token() : options.token;
      if (token) request.headers.set('authorization', `Bearer ${token}`);
      return request;
    },
  };
  client.use(auth);
  return client;
}

export { allItems, followActivity, followNotifications, followStream, PageError, StreamRefusedError, type FollowOptions, type PageResult, type StreamEvent } from './streams';
