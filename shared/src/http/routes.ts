// Declares routes once: the same zod schemas validate requests and produce the OpenAPI document.
import Router from '@koa/router';
import type { Context, Middleware } from 'koa';
import { z } from 'zod';
import { invalidCursor, isCursorIssue } from './cursor';
import { type FieldErrors, notFound, validationFailed } from './errors';
import { humanMessage } from './validation-messages';

export type Method = 'get' | 'post' | 'put' | 'patch' | 'delete';

export interface ResponseSpec {
  description: string;
  /** A response body: a named schema (`.meta({ id })`), so that it is one component of the document and one type of the client. */
  schema?: z.ZodType;
  /** An error response's example problem body: its `code` and `detail` (otherwise a typical one for the status). */
  problem?: { code: string; detail: string; errors?: FieldErrors };
}

export interface RouteSpec<B extends z.ZodType | undefined, Q extends z.ZodType | undefined, P extends z.ZodType | undefined> {
  method: Method;
  /** Koa path without trailing slash, e.g. `/api/v1/tasks/:id`. */
  path: string;
  summary: string;
  tags: string[];
  /** Requires a valid access token (default true). */
  auth?: boolean;
  body?: B;
  query?: Q;
  params?: P;
  responses: Record<number, ResponseSpec>;
  /** Served but left out of the public OpenAPI document (internal endpoints). */
  internal?: boolean;
}

type Infer<S> = S extends z.ZodType ? z.output<S> : undefined;

export interface RouteInput<B, Q, P> {
  body: Infer<B>;
  query: Infer<Q>;
  params: Infer<P>;
}

export type RouteHandler<B, Q, P> = (ctx: Context, input: RouteInput<B, Q, P>) => Promise<void>;

export type AnySpec = RouteSpec<z.ZodType | undefined, z.ZodType | undefined, z.ZodType | undefined>;

/**
 * Field errors keyed by field name: list positions dropped (`status`, not `status.0`), and each unknown
 * field reported under its own name.
 */
export function fieldErrors(error: { issues: readonly z.core.$ZodIssue[] }, unknownField = 'Unknown field.'): FieldErrors {
  // A Map, then own properties: a client may name a field `__proto__` or `constructor`.
  const errors = new Map<string, string[]>();
  const add = (key: string, message: string) => {
    const list = errors.get(key) ?? [];
    if (!list.includes(message)) list.push(message);
    errors.set(key, list);
  };
  for (const issue of error.issues) {
    const path = issue.path.filter((p) => typeof p !== 'number').map(String);
    if (issue.code === 'unrecognized_keys') {
      for (const key of issue.keys) add([...path, key].join('.'), unknownField);
      continue;
    }
    add(path.length > 0 ? path.join('.') : 'non_field_errors', issue.message);
  }
  return Object.fromEntries(errors);
}

/**
 * Parses `value` with `schema` or throws a 400 listing every field error, worded as every service words
 * them; an invalid cursor is reported (as `invalid_cursor`) only when nothing else is wrong.
 */
export function parseOrThrow<S extends z.ZodType>(schema: S, value: unknown, where: 'body' | 'query' = 'body'): z.output<S> {
  const result = schema.safeParse(value, { error: humanMessage });
  if (result.success) return result.data;
  const issues = result.error.issues.filter((issue) => !isCursorIssue(issue));
  throw issues.length === 0 ? invalidCursor() : validationFailed(fieldErrors({ issues }, where === 'query' ? 'Unknown query parameter.' : 'Unknown field.'));
}

/**
 * A schema that refuses keys it does not declare (API.md: unknown query parameters and body fields are a
 * 400 naming them), whatever the route wrote: one rule for every service, not one per schema. A schema
 * that says what to do with other keys (`.catchall(...)`: work lets its policy answer a member's extra
 * task fields with 403) keeps its choice.
 */
function strict(schema: z.ZodType | undefined): z.ZodType {
  if (schema === undefined) return z.strictObject({});
  return schema instanceof z.ZodObject && schema._zod.def.catchall === undefined ? schema.strict() : schema;
}

export interface RoutesOptions {
  /** Middleware run before every route whose `auth` is not false. */
  authenticate?: Middleware;
  /**
   * Middleware run around every handler, after authentication and validation (so a bad request never
   * waits for, or takes, a slot): the fair-use layer (`FairUse.middleware`). It finds the parsed input
   * in `ctx.state.input`.
   */
  admission?: Middleware;
}

export class ApiRoutes {
  /** Exact, case-sensitive matching: `/api/v1/Tasks` is not `/api/v1/tasks` (the gateway classifies paths the same way). */
  readonly router = new Router({ sensitive: true });
  readonly specs: AnySpec[] = [];

  constructor(private readonly options: RoutesOptions = {}) {}

  add<B extends z.ZodType | undefined = undefined, Q extends z.ZodType | undefined = undefined, P extends z.ZodType | undefined = undefined>(
    spec: RouteSpec<B, Q, P>,
    handler: RouteHandler<B, Q, P>,
  ): this {
    for (const [status, response] of Object.entries(spec.responses)) {
      if (!spec.internal && response.schema && !z.globalRegistry.get(response.schema)?.id) throw new Error(`Route ${spec.method} ${spec.path}: the ${status} body needs a name, .meta({ id })`);
    }
    this.specs.push(spec as AnySpec);
    const querySchema = strict(spec.query);
    const bodySchema = spec.body ? strict(spec.body) : undefined;
    const middleware: Middleware[] = [];
    if (spec.auth !== false) {
      if (!this.options.authenticate) throw new Error(`Route ${spec.method} ${spec.path} needs auth but no authenticate middleware was given`);
      middleware.push(this.options.authenticate);
    }
    middleware.push(async (ctx) => {
      let params: unknown;
      if (spec.params) {
        // A malformed id is "not found", never a validation error or a 500.
        const parsed = spec.params.safeParse(ctx.params);
        if (!parsed.success) throw notFound();
        params = parsed.data;
      }
      const parsedQuery = parseOrThrow(querySchema, ctx.query, 'query');
      const query = spec.query ? parsedQuery : undefined;
      // No body at all validates as `{}`; a JSON `null` body is a non-object body like any other (400).
      const sent = (ctx.request as { body?: unknown }).body;
      const body = bodySchema ? parseOrThrow(bodySchema, sent === undefined ? {} : sent, 'body') : undefined;
      const input = { body, query, params } as RouteInput<B, Q, P>;
      const admission = this.options.admission;
      if (!admission) return handler(ctx, input);
      ctx.state.input = input;
      await admission(ctx, () => handler(ctx, input));
    });
    this.router.register(spec.path, [spec.method.toUpperCase()], middleware, { name: `${spec.method} ${spec.path}` });
    return this;
  }
}
