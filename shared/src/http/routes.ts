// Declares routes once: the same zod schemas validate requests and produce the OpenAPI document.
import Router from '@koa/router';
import type { Context, Middleware } from 'koa';
import { z } from 'zod';
import { AppError, type FieldErrors, type Problem, problem, validationFailed } from './errors';

export type Method = 'get' | 'post' | 'put' | 'patch' | 'delete';

export interface ResponseSpec {
  description: string;
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

type AnySpec = RouteSpec<z.ZodType | undefined, z.ZodType | undefined, z.ZodType | undefined>;

export function fieldErrors(error: z.ZodError): FieldErrors {
  const errors: FieldErrors = {};
  for (const issue of error.issues) {
    const key = issue.path.length > 0 ? issue.path.join('.') : 'non_field_errors';
    (errors[key] ??= []).push(issue.message);
  }
  return errors;
}

/** Parses `value` with `schema` or throws a 400 listing every field error. */
export function parseOrThrow<S extends z.ZodType>(schema: S, value: unknown): z.output<S> {
  const result = schema.safeParse(value);
  if (!result.success) throw validationFailed(fieldErrors(result.error));
  return result.data;
}

export interface RoutesOptions {
  /** Middleware run before every route whose `auth` is not false. */
  authenticate?: Middleware;
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
    this.specs.push(spec as AnySpec);
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
        if (!parsed.success) throw new AppError(404, 'not_found', 'Not found.');
        params = parsed.data;
      }
      const query = spec.query ? parseOrThrow(spec.query, ctx.query) : undefined;
      // No body at all validates as `{}`; a JSON `null` body is a non-object body like any other (400).
      const sent = (ctx.request as { body?: unknown }).body;
      const body = spec.body ? parseOrThrow(spec.body, sent === undefined ? {} : sent) : undefined;
      await handler(ctx, { body, query, params } as RouteInput<B, Q, P>);
    });
    this.router.register(spec.path, [spec.method.toUpperCase()], middleware, { name: `${spec.method} ${spec.path}` });
    return this;
  }
}

const problemSchema = {
  type: 'object',
  required: ['type', 'title', 'status', 'detail', 'code'],
  properties: {
    type: { type: 'string' },
    title: { type: 'string' },
    status: { type: 'integer' },
    detail: { type: 'string' },
    code: { type: 'string' },
    errors: { type: 'object', additionalProperties: { type: 'array', items: { type: 'string' } } },
  },
};

const errorDescriptions: Record<number, string> = {
  400: 'Invalid input (field errors in `errors`)',
  401: 'Missing, invalid or expired access token',
  404: 'Not found, or in an organization the caller does not belong to',
  413: 'Body over 1 MiB',
  415: 'Body is not application/json',
};

/** A typical problem body per error status, as the services send them (see errors.ts, body.ts, etag.ts, idempotency.ts). */
const typicalProblems: Record<number, Problem> = {
  400: problem(400, 'validation_error', 'Invalid input.', { field: ['message'] }),
  401: problem(401, 'not_authenticated', 'Authentication credentials were not provided or are invalid.'),
  403: problem(403, 'permission_denied', 'You do not have permission to perform this action.'),
  404: problem(404, 'not_found', 'Not found.'),
  409: problem(409, 'conflict', 'The request conflicts with the current state of the resource.'),
  412: problem(412, 'precondition_failed', 'The resource has changed since it was read (If-Match does not match); fetch it again.'),
  413: problem(413, 'payload_too_large', 'Request body exceeds the 1 MiB limit.'),
  415: problem(415, 'unsupported_media_type', 'Request bodies must be application/json.'),
  422: problem(422, 'idempotency_key_reused', 'This Idempotency-Key was used with a different request.'),
  503: problem(503, 'service_unavailable', 'The service is unavailable; retry shortly.'),
};

/** The field errors of `value` under `schema` (only those of `field` when given and present, else the first two), or undefined when it is valid. */
function errorsOf(schema: z.ZodType, value: unknown, field?: string): FieldErrors | undefined {
  const result = schema.safeParse(value);
  if (result.success) return undefined;
  const errors = fieldErrors(result.error);
  return field !== undefined && errors[field] ? { [field]: errors[field] } : Object.fromEntries(Object.entries(errors).slice(0, 2));
}

/**
 * The field errors the route really answers for a typical mistake: an empty body (else one field sent as
 * null), or one query parameter sent empty. Only parses, so it changes nothing about validation.
 */
function typicalFieldErrors(spec: AnySpec): FieldErrors | undefined {
  if (spec.body) {
    const found = errorsOf(spec.body, {});
    if (found) return found;
    for (const name of Object.keys((jsonSchema(spec.body, 'input').properties as object | undefined) ?? {})) {
      const errors = errorsOf(spec.body, { [name]: null }, name);
      if (errors) return errors;
    }
  }
  if (spec.query) {
    for (const name of Object.keys((jsonSchema(spec.query, 'input').properties as object | undefined) ?? {})) {
      const errors = errorsOf(spec.query, { [name]: '' }, name);
      if (errors) return errors;
    }
  }
  return undefined;
}

function problemExample(spec: AnySpec, status: number, declared: ResponseSpec | undefined): Problem {
  if (declared?.problem) return problem(status, declared.problem.code, declared.problem.detail, declared.problem.errors);
  if (status === 400) {
    const errors = typicalFieldErrors(spec);
    if (errors) return problem(400, 'validation_error', 'Invalid input.', errors);
  }
  return typicalProblems[status] ?? problem(status, 'error', errorDescriptions[status] ?? 'The request failed.');
}

function problemResponse(description: string, example: Problem): Record<string, unknown> {
  return { description, content: { 'application/problem+json': { schema: { $ref: '#/components/schemas/Problem' }, example } } };
}

function jsonSchema(schema: z.ZodType, io: 'input' | 'output'): Record<string, unknown> {
  const out = z.toJSONSchema(schema, { target: 'draft-2020-12', io, unrepresentable: 'any' }) as Record<string, unknown>;
  delete out.$schema;
  return out;
}

function openApiPath(path: string): string {
  return `${path.replace(/:([A-Za-z_]+)/g, '{$1}')}/`.replace(/\/\/$/, '/');
}

/** Builds the OpenAPI 3.1 paths object of `specs`. */
export function openApiPaths(specs: readonly AnySpec[]): Record<string, Record<string, unknown>> {
  const paths: Record<string, Record<string, unknown>> = {};
  for (const spec of specs) {
    if (spec.internal) continue;
    const parameters: unknown[] = [];
    for (const [where, schema] of [['path', spec.params], ['query', spec.query]] as const) {
      if (!schema) continue;
      const js = jsonSchema(schema, 'input') as { properties?: Record<string, Record<string, unknown>>; required?: string[] };
      for (const [name, prop] of Object.entries(js.properties ?? {})) {
        const { description, ...rest } = prop;
        parameters.push({ name, in: where, required: where === 'path' || (js.required ?? []).includes(name), schema: rest, ...(description ? { description } : {}) });
      }
    }
    const responses: Record<string, unknown> = {};
    for (const [status, r] of Object.entries(spec.responses)) {
      responses[status] = r.schema
        ? { description: r.description, content: { 'application/json': { schema: jsonSchema(r.schema, 'output') } } }
        : Number(status) >= 400
          ? problemResponse(r.description, problemExample(spec, Number(status), r))
          : { description: r.description };
    }
    const errorStatuses = [
      ...(spec.body || spec.query ? [400] : []),
      ...(spec.auth !== false ? [401] : []),
      ...(spec.params ? [404] : []),
      ...(spec.body ? [413, 415] : []),
    ];
    for (const status of errorStatuses) {
      responses[String(status)] ??= problemResponse(errorDescriptions[status]!, problemExample(spec, status, undefined));
    }
    const operation: Record<string, unknown> = {
      summary: spec.summary,
      tags: spec.tags,
      operationId: `${spec.method}${spec.path.replace(/\/api\/v1/, '').replace(/[^A-Za-z0-9]+(.)?/g, (_, c: string | undefined) => (c ? c.toUpperCase() : ''))}`,
      ...(parameters.length ? { parameters } : {}),
      ...(spec.body ? { requestBody: { required: true, content: { 'application/json': { schema: jsonSchema(spec.body, 'input') } } } } : {}),
      responses,
      ...(spec.auth !== false ? { security: [{ bearerAuth: [] }] } : { security: [] }),
    };
    (paths[openApiPath(spec.path)] ??= {})[spec.method] = operation;
  }
  return paths;
}

/** `webhooks`: OpenAPI 3.1's section of requests the API sends (the webhooks service documents its deliveries there). */
export function openApiDocument(
  title: string,
  version: string,
  paths: Record<string, Record<string, unknown>>,
  webhooks?: Record<string, Record<string, unknown>>,
): Record<string, unknown> {
  return {
    openapi: '3.1.0',
    info: { title, version },
    paths,
    ...(webhooks ? { webhooks } : {}),
    components: {
      schemas: { Problem: problemSchema },
      securitySchemes: { bearerAuth: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT' } },
    },
  };
}
