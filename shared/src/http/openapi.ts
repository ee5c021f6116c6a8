// A service's OpenAPI 3.1 document, generated from the zod schemas its routes validate with. Schemas named
// with `.meta({ id })` are components, written once and referenced; so are the problem responses and
// examples every operation shares. Only what the operations reference is in the document.
import { isDeepStrictEqual } from 'node:util';
import { z } from 'zod';
import { type FieldErrors, type Problem, problem } from './errors';
import { invalidIfMatch } from './etag';
import { type AnySpec, fieldErrors, type ResponseSpec } from './routes';
import { humanMessage } from './validation-messages';

type Json = Record<string, unknown>;

/** The body of every error response (RFC 9457), a component like any other named schema. */
export const problemSchema = z
  .object({
    type: z.string(),
    title: z.string(),
    status: z.number().int(),
    detail: z.string(),
    code: z.string(),
    errors: z.record(z.string(), z.array(z.string())).optional(),
  })
  .meta({ id: 'Problem' });

/** The id a schema is registered under with `.meta({ id })`, if any. */
export const componentName = (schema: z.ZodType): string | undefined => z.globalRegistry.get(schema)?.id;

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

const badIfMatch = invalidIfMatch();
const invalidIfMatchProblem = problem(400, badIfMatch.code, badIfMatch.message);

/** The query parameters every list shares (`pageQuery` declares them alike), written once as `components.parameters`. */
const sharedParameters = new Map<string, string>([
  ['limit', 'Limit'],
  ['cursor', 'Cursor'],
]);

const ifMatchParameter = {
  name: 'If-Match',
  in: 'header',
  description: 'The `ETag` last read (`"3"`), a list of them, or `*`: the change applies only while one matches (else 412); a malformed value is 400 `invalid_if_match`.',
  schema: { type: 'string' },
};

/** Formats that say all zod's regular expression for them says (the regex, spelled out at every use, says it again). */
const STANDARD_FORMATS = new Set(['uuid', 'email', 'date', 'date-time']);

/** Drops what restates the obvious: a standard format's regex, and an integer's bounds that are only JavaScript's safe range. */
function withoutNoise({ jsonSchema }: { jsonSchema: { format?: string; pattern?: string; minimum?: number; maximum?: number } }): void {
  if (jsonSchema.format && STANDARD_FORMATS.has(jsonSchema.format)) delete jsonSchema.pattern;
  if (jsonSchema.maximum === Number.MAX_SAFE_INTEGER) delete jsonSchema.maximum;
  if (jsonSchema.minimum === Number.MIN_SAFE_INTEGER) delete jsonSchema.minimum;
}

/** Replaces, in place, zod's `#/$defs/` references by references to the document's schema components. */
function pointAtComponents(value: unknown): void {
  if (Array.isArray(value)) value.forEach(pointAtComponents);
  else if (value && typeof value === 'object') {
    const record = value as Json;
    if (typeof record.$ref === 'string') record.$ref = record.$ref.replace(/^#\/\$defs\//, '#/components/schemas/');
    Object.values(record).forEach(pointAtComponents);
  }
}

/** Collects the components a document's operations reference. */
class Components {
  readonly schemas: Json = {};
  readonly responses: Json = {};
  readonly examples: Json = {};
  readonly parameters: Json = {};

  /** The JSON Schema of `schema`: every named schema in it moves to `components.schemas` and is referenced. */
  schema(schema: z.ZodType, io: 'input' | 'output'): Json {
    const out = z.toJSONSchema(schema, { target: 'draft-2020-12', io, unrepresentable: 'any', override: withoutNoise }) as Json;
    const defs = (out.$defs ?? {}) as Json;
    delete out.$schema;
    delete out.$defs;
    pointAtComponents(out);
    for (const [name, definition] of Object.entries(defs)) {
      pointAtComponents(definition);
      this.add(this.schemas, 'schemas', name, definition);
    }
    return out;
  }

  ref(section: 'responses' | 'examples' | 'parameters', name: string, value: unknown): Json {
    this.add(this[section], section, name, value);
    return { $ref: `#/components/${section}/${name}` };
  }

  private add(into: Json, section: string, name: string, value: unknown): void {
    // Two schemas with one name (or one named schema read differently as input and as output) would make
    // every reference ambiguous: refuse to build the document.
    if (name in into && !isDeepStrictEqual(into[name], value)) throw new Error(`Two different ${section} are named ${name} in one OpenAPI document`);
    into[name] = value;
  }

  toJSON(): Json {
    const sections = { schemas: this.schemas, responses: this.responses, examples: this.examples, parameters: this.parameters };
    return Object.fromEntries(Object.entries(sections).filter(([, entries]) => Object.keys(entries).length > 0));
  }
}

/** The field errors of `value` under `schema` (only those of `field` when given and present, else the first two), or undefined when it is valid. */
function errorsOf(schema: z.ZodType, value: unknown, field?: string): FieldErrors | undefined {
  const result = schema.safeParse(value, { error: humanMessage });
  if (result.success) return undefined;
  const errors = fieldErrors(result.error);
  return field !== undefined && errors[field] ? { [field]: errors[field] } : Object.fromEntries(Object.entries(errors).slice(0, 2));
}

const propertyNames = (schema: z.ZodType): string[] =>
  Object.keys((z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any' }) as { properties?: object }).properties ?? {});

/**
 * The field errors the route really answers for a typical mistake: an empty body (else one field sent as
 * null), or one query parameter sent empty. Only parses, so it changes nothing about validation.
 */
function typicalFieldErrors(spec: AnySpec): FieldErrors | undefined {
  if (spec.body) {
    const found = errorsOf(spec.body, {});
    if (found) return found;
    for (const name of propertyNames(spec.body)) {
      const errors = errorsOf(spec.body, { [name]: null }, name);
      if (errors) return errors;
    }
  }
  if (spec.query) {
    for (const name of propertyNames(spec.query)) {
      const errors = errorsOf(spec.query, { [name]: '' }, name);
      if (errors) return errors;
    }
  }
  return undefined;
}

/** This operation's own example for `status`, or undefined when the typical problem of the status is the one it answers. */
function ownProblem(spec: AnySpec, status: number, declared: ResponseSpec | undefined): Problem | undefined {
  if (declared?.problem) return problem(status, declared.problem.code, declared.problem.detail, declared.problem.errors);
  const errors = status === 400 ? typicalFieldErrors(spec) : undefined;
  return errors ? problem(400, 'validation_error', 'Invalid input.', errors) : undefined;
}

const pascalCase = (code: string) => code.replace(/(?:^|_)([a-z])/g, (_, c: string) => c.toUpperCase());

/** A typical problem body, once in `components.examples` under its code. */
const typicalExample = (components: Components, body: Problem) => components.ref('examples', body.code, { value: body });

/** An error response with examples keyed by `code` (the typical ones referenced from `components.examples`). */
function problemResponse(components: Components, description: string, own: Problem[], typical: Problem[]): Json {
  const examples = Object.fromEntries([...own.map((body) => [body.code, { value: body }]), ...typical.map((body) => [body.code, typicalExample(components, body)])]);
  return { description, content: { 'application/problem+json': { schema: { $ref: '#/components/schemas/Problem' }, examples } } };
}

/**
 * The response of an operation that answers only the typical problem of its code: one shared component
 * (named after the code), with the operation's own description beside the reference when it has one.
 */
function typicalResponse(components: Components, body: Problem, description: string | undefined): Json {
  const generic = typicalProblems[body.status]?.code === body.code ? errorDescriptions[body.status] : undefined;
  const shared = problemResponse(components, generic ?? body.detail, [], [body]);
  return { ...components.ref('responses', pascalCase(body.code), shared), ...(description ? { description } : {}) };
}

const typicalProblemOf = (status: number) => typicalProblems[status] ?? problem(status, 'error', errorDescriptions[status] ?? 'The request failed.');

function openApiPath(path: string): string {
  return `${path.replace(/:([A-Za-z_]+)/g, '{$1}')}/`.replace(/\/\/$/, '/');
}

function operationId(spec: AnySpec): string {
  return `${spec.method}${spec.path.replace(/\/api\/v1/, '').replace(/[^A-Za-z0-9]+(.)?/g, (_, c: string | undefined) => (c ? c.toUpperCase() : ''))}`;
}

function parametersOf(components: Components, spec: AnySpec, readsIfMatch: boolean): unknown[] {
  const parameters: unknown[] = [];
  for (const [where, schema] of [['path', spec.params], ['query', spec.query]] as const) {
    if (!schema) continue;
    const js = components.schema(schema, 'input') as { properties?: Record<string, Json>; required?: string[] };
    const shape = (schema as { shape?: Record<string, z.ZodType> }).shape ?? {};
    for (const [name, prop] of Object.entries(js.properties ?? {})) {
      const { description, ...rest } = prop;
      const required = where === 'path' || (js.required ?? []).includes(name);
      const parameter = { name, in: where, ...(required ? { required } : {}), schema: rest, ...(description ? { description } : {}) };
      const shared = shape[name] && sharedParameters.get(name);
      parameters.push(shared ? components.ref('parameters', shared, parameter) : parameter);
    }
  }
  if (readsIfMatch) parameters.push(components.ref('parameters', 'IfMatch', ifMatchParameter));
  return parameters;
}

function responsesOf(components: Components, spec: AnySpec, readsIfMatch: boolean): Json {
  const responses: Json = {};
  const errors = new Map<number, { description?: string; own?: Problem }>();
  for (const [key, r] of Object.entries(spec.responses)) {
    const status = Number(key);
    if (r.schema) responses[key] = { description: r.description, content: { 'application/json': { schema: components.schema(r.schema, 'output') } } };
    else if (status >= 400) errors.set(status, { description: r.description, own: ownProblem(spec, status, r) });
    else responses[key] = { description: r.description };
  }
  const answered = [...(spec.body || spec.query ? [400] : []), ...(spec.auth !== false ? [401] : []), ...(spec.params ? [404] : []), ...(spec.body ? [413, 415] : [])];
  for (const status of answered) if (!errors.has(status)) errors.set(status, { own: ownProblem(spec, status, undefined) });
  for (const [status, { description, own }] of errors) {
    if (status === 400 && readsIfMatch) {
      const ownDescription = [description ?? (own ? errorDescriptions[400] : undefined), 'or `If-Match` is malformed'].filter(Boolean).join('; ');
      responses['400'] = own
        ? problemResponse(components, ownDescription, [own], [invalidIfMatchProblem])
        : problemResponse(components, ownDescription, [], [typicalProblemOf(400), invalidIfMatchProblem]);
    } else {
      responses[String(status)] = own ? problemResponse(components, description ?? errorDescriptions[status]!, [own], []) : typicalResponse(components, typicalProblemOf(status), description);
    }
  }
  if (readsIfMatch && !errors.has(400)) responses['400'] = typicalResponse(components, invalidIfMatchProblem, undefined);
  return responses;
}

/** A request the service sends to others (OpenAPI 3.1 `webhooks`), documented from the schema of its body. */
export interface WebhookSpec {
  summary: string;
  tags?: string[];
  /** The request headers it always carries: name -> description (each a shared `components.parameters` entry). */
  headers: Record<string, string>;
  body: z.ZodType;
  /** What the receiver may answer. */
  responses: Record<string, { description: string }>;
}

const headerComponentName = (header: string) => header.replace(/(?:^|-)([a-z])/g, (_, c: string) => c.toUpperCase());

function webhookOperation(components: Components, spec: WebhookSpec): Json {
  return {
    summary: spec.summary,
    ...(spec.tags ? { tags: spec.tags } : {}),
    parameters: Object.entries(spec.headers).map(([name, description]) =>
      components.ref('parameters', headerComponentName(name), { name, in: 'header', required: true, schema: { type: 'string' }, description }),
    ),
    requestBody: { required: true, content: { 'application/json': { schema: components.schema(spec.body, 'output') } } },
    responses: spec.responses,
  };
}

/** Builds the OpenAPI 3.1 document of `specs` (internal routes left out) and of the `webhooks` it sends, if any. */
export function openApiDocument(title: string, version: string, specs: readonly AnySpec[], webhooks?: Record<string, WebhookSpec>): Json {
  const components = new Components();
  components.schema(problemSchema, 'output');
  const paths: Record<string, Json> = {};
  for (const spec of specs) {
    if (spec.internal) continue;
    // Only a conditional write can fail its precondition: an operation that answers 412 reads If-Match.
    const readsIfMatch = '412' in spec.responses;
    const parameters = parametersOf(components, spec, readsIfMatch);
    (paths[openApiPath(spec.path)] ??= {})[spec.method] = {
      summary: spec.summary,
      tags: spec.tags,
      operationId: operationId(spec),
      ...(parameters.length ? { parameters } : {}),
      ...(spec.body ? { requestBody: { required: true, content: { 'application/json': { schema: components.schema(spec.body, 'input') } } } } : {}),
      responses: responsesOf(components, spec, readsIfMatch),
      // Operations need the bearer token unless they say otherwise (`security` of the document).
      ...(spec.auth === false ? { security: [] } : {}),
    };
  }
  const sent = webhooks ? Object.fromEntries(Object.entries(webhooks).map(([name, spec]) => [name, { post: webhookOperation(components, spec) }])) : undefined;
  return {
    openapi: '3.1.0',
    info: { title, version },
    security: [{ bearerAuth: [] }],
    paths,
    ...(sent ? { webhooks: sent } : {}),
    components: { ...components.toJSON(), securitySchemes: { bearerAuth: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT' } } },
  };
}
