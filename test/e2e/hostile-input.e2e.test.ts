// Hostile input against every operation of the gateway's merged OpenAPI document. The operations, their
// path and query parameters and their body properties all come from the document, so a new route is
// attacked as soon as it is documented. Every answer must be a 4xx application/problem+json (valid but odd
// input may be accepted: then it only must not be a 5xx), within a per-request timeout.
//
// The hostile requests act on a throwaway tenant C (its owner is the caller, its ids fill valid path
// parameters); tenant A is never addressed and must come out byte-for-byte unchanged, and C may only have
// grown by the creates that were accepted. JWT forgeries are tried on every protected operation, through
// the gateway and directly against the upstream that serves it.
import { createHmac, createPublicKey, generateKeyPairSync, type KeyObject, randomUUID, sign as rsaSign } from 'node:crypto';
import http from 'node:http';
import { eventually } from '@taskflow/shared/testing';
import { resolveRoute } from '../../services/gateway/src/routes';
import { dereference } from './dereference';
import { type Account, newAccount, startSystem, type System } from './system';

const WAIT = 10_000;
const REQUEST_TIMEOUT_MS = 10_000;
const BATCH = 6;
const MIB = 1024 * 1024;

// ---------------------------------------------------------------- HTTP without a safety net

interface Answer {
  status: number;
  contentType: string;
  text: string;
  body: any;
}

interface RawRequest {
  method: string;
  /** Sent exactly as given (no URL normalisation). */
  path: string;
  headers?: Record<string, string>;
  body?: string | Buffer;
  /** Sent with Transfer-Encoding: chunked and no Content-Length. */
  chunked?: boolean;
}

/** One request over node:http, byte-exact, failing (never hanging) after REQUEST_TIMEOUT_MS. */
function sendRaw(base: string, req: RawRequest): Promise<Answer> {
  const url = new URL(base);
  return new Promise((resolve, reject) => {
    let answered = false;
    const headers: Record<string, string | number> = { ...req.headers };
    if (req.body !== undefined && !req.chunked) headers['content-length'] = Buffer.byteLength(req.body);
    // Node only chunks POST/PUT/PATCH bodies by default: say so explicitly for every method.
    if (req.body !== undefined && req.chunked) headers['transfer-encoding'] = 'chunked';
    const r = http.request({ host: url.hostname, port: url.port, method: req.method, path: req.path, headers, agent: false }, (res) => {
      answered = true;
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        let body: any = text;
        try {
          body = text === '' ? undefined : JSON.parse(text);
        } catch {
          /* keep the text */
        }
        resolve({ status: res.statusCode ?? 0, contentType: String(res.headers['content-type'] ?? ''), text, body });
      });
      res.on('error', reject);
    });
    r.setTimeout(REQUEST_TIMEOUT_MS, () => r.destroy(new Error(`no answer within ${REQUEST_TIMEOUT_MS} ms: ${req.method} ${req.path.slice(0, 200)}`)));
    // The server may answer 413 and close before it has read everything we send: that is its right.
    r.on('error', (err) => {
      if (!answered) reject(err);
    });
    if (req.body !== undefined && req.chunked) {
      const data = Buffer.from(req.body);
      for (let i = 0; i < data.length; i += 64 * 1024) r.write(data.subarray(i, i + 64 * 1024));
      r.end();
    } else {
      r.end(req.body);
    }
  });
}

async function inBatches<T, R>(items: T[], size: number, run: (item: T) => Promise<R>): Promise<R[]> {
  const out: R[] = [];
  for (let i = 0; i < items.length; i += size) out.push(...(await Promise.all(items.slice(i, i + size).map(run))));
  return out;
}

// ---------------------------------------------------------------- reading the OpenAPI document

type Schema = Record<string, any>;

interface Operation {
  key: string;
  method: string;
  path: string;
  pathParams: { name: string; schema: Schema }[];
  queryParams: { name: string; required: boolean; schema: Schema }[];
  body?: Schema;
  secured: boolean;
}

function operationsOf(doc: any): Operation[] {
  const ops: Operation[] = [];
  for (const [path, item] of Object.entries(doc.paths as Record<string, Record<string, any>>)) {
    for (const [method, op] of Object.entries(item)) {
      if (!['get', 'put', 'post', 'patch', 'delete'].includes(method)) continue;
      const params: any[] = op.parameters ?? [];
      ops.push({
        key: `${method.toUpperCase()} ${path}`,
        method: method.toUpperCase(),
        path,
        pathParams: params.filter((p) => p.in === 'path').map((p) => ({ name: p.name, schema: p.schema ?? {} })),
        queryParams: params.filter((p) => p.in === 'query').map((p) => ({ name: p.name, required: !!p.required, schema: p.schema ?? {} })),
        body: op.requestBody?.content?.['application/json']?.schema,
        secured: Array.isArray(op.security) ? op.security.length > 0 : true,
      });
    }
  }
  return ops;
}

const isUuidSchema = (s: Schema) => s.format === 'uuid' || (s.anyOf ?? []).some((b: Schema) => b.format === 'uuid');

/** Whether `value` has a JSON type the schema allows (types, enums and consts only; formats are ignored). */
function typeAllowed(schema: Schema, value: unknown): boolean {
  if (schema.anyOf) return schema.anyOf.some((b: Schema) => typeAllowed(b, value));
  if (schema.oneOf) return schema.oneOf.some((b: Schema) => typeAllowed(b, value));
  if ('const' in schema) return schema.const === value;
  if (schema.enum) return schema.enum.includes(value);
  const types: string[] | undefined = schema.type === undefined ? undefined : [].concat(schema.type);
  if (!types) return true;
  const t = value === null ? 'null' : Array.isArray(value) ? 'array' : typeof value === 'number' && Number.isInteger(value) ? 'integer' : typeof value;
  return types.includes(t) || (t === 'integer' && types.includes('number'));
}

const stringBranch = (s: Schema): Schema | undefined =>
  s.type === 'string' ? s : (s.anyOf ?? s.oneOf ?? []).find((b: Schema) => b.type === 'string');

// ---------------------------------------------------------------- the hostile cases

type Want =
  /** Exactly this status, problem+json. */
  | { status: number; field?: string }
  /** Any 4xx, problem+json. */
  | 'client-error'
  /** Valid but odd: anything below 500 (a 4xx must still be problem+json). */
  | 'not-5xx';

interface Case {
  op: Operation;
  what: string;
  request: RawRequest;
  want: Want;
}

const WRONG_TYPED: unknown[] = [12345, 1.5, true, null, { nested: 'object' }, ['an', 'array'], ''];
const UNICODE: Record<string, string> = {
  emoji: '😀 emoji 👩‍👩‍👧 flag 🇺🇳',
  'RTL override': 'abc\u202Egnp.exe\u202C',
  'zero-width': 'zero\u200Bwidth\u200D\uFEFFjoiners',
  NUL: 'nul\u0000byte',
  'lone high surrogate': 'lone \ud800 high',
  'lone low surrogate': 'lone \udfff low',
  combining: 'Z\u0351\u0300\u0301\u0302\u0303\u0304a\u0305\u0306lgo',
  'control chars': '\u0001\u0007\b\u001b[31m',
};
const BAD_PATH_VALUES: Record<string, string> = {
  'not a uuid': 'not-a-uuid',
  'SQL injection': encodeURIComponent("' OR 1=1--"),
  'SQL after a uuid': encodeURIComponent(`${randomUUID()}' OR '1'='1`),
  'encoded traversal': encodeURIComponent('../../etc/passwd'),
  'raw traversal': '../../etc/passwd',
  'encoded dot segment': '%2e%2e',
  'encoded NUL': '%00',
  'NUL inside a uuid': `${randomUUID().slice(0, 8)}%00${randomUUID().slice(8)}`,
  'very long id': 'a'.repeat(5000),
  'very long uuid-ish': `${randomUUID()}${'0'.repeat(3000)}`,
  'emoji': encodeURIComponent('😀'),
  'RTL override': encodeURIComponent('\u202E'),
  'unknown uuid': randomUUID(),
  'nil uuid': '00000000-0000-0000-0000-000000000000',
  'bad percent-encoding': '%E0%A4%A',
  'invalid UTF-8': '%C3%28',
};
const b64 = (s: string) => Buffer.from(s, 'utf8').toString('base64url');
const BAD_CURSORS: string[] = [
  'garbage!!',
  b64('not json'),
  b64('[]'),
  b64('{"a":1}'),
  b64('["x","y"]'),
  b64('["x","y","z"]'),
  b64(`["2020-01-01T00:00:00.000Z","' OR 1=1--"]`),
  b64(`["-created_at","' OR 1=1--","${randomUUID()}"]`),
  b64(`["-created_at","2020-13-45T99:99:99Z","${randomUUID()}"]`),
  b64(`["not-a-date","${randomUUID()}"]`),
  b64('[1e308,1e308]'),
  b64(`[null,"${randomUUID()}"]`),
  b64(`["-priority",99,"${randomUUID()}"]`),
  'A'.repeat(5000),
];

describe('hostile input to every operation of the OpenAPI document', () => {
  let system: System;
  let A: { owner: Account; org: string };
  let C: { owner: Account; member: Account; org: string; project: string; task: string; invite: string; webhook: string; delivery: string };
  let ops: Operation[];
  let beforeA: unknown;
  let beforeC: Record<string, number>;
  let initialC: Record<string, any>;
  /** 2xx answers to hostile requests: what they created or changed is allowed in C. */
  const accepted: { op: Operation; what: string; body: any }[] = [];
  let emailCounter = 0;

  const call = (who: Account, method: string, path: string, body?: unknown) =>
    sendRaw(system.url, {
      method,
      path,
      headers: { authorization: `Bearer ${who.access}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      body: body === undefined ? undefined : JSON.stringify(body),
    });

  async function listAll(who: Account, first: string): Promise<any[]> {
    const items: any[] = [];
    for (let next: string | null = first; next; ) {
      const page = await call(who, 'GET', next);
      if (page.status !== 200) throw new Error(`GET ${next}: ${page.status} ${page.text}`);
      items.push(...page.body.results);
      next = page.body.next;
    }
    return items;
  }

  const snapshot = async (owner: Account, org: string) => ({
    org: (await call(owner, 'GET', `/api/v1/organizations/${org}/`)).body,
    members: await listAll(owner, `/api/v1/organizations/${org}/members/?limit=200`),
    projects: await listAll(owner, `/api/v1/projects/?organization=${org}&limit=200`),
    tasks: await listAll(owner, `/api/v1/tasks/?organization=${org}&limit=200`),
    invites: await listAll(owner, `/api/v1/invites/?organization=${org}&limit=200`),
  });

  const countsOfC = async () => {
    const s = await snapshot(C.owner, C.org);
    return {
      members: s.members.length,
      projects: s.projects.length,
      tasks: s.tasks.length,
      invites: s.invites.length,
      organizations: (await listAll(C.owner, '/api/v1/organizations/?limit=200')).length,
    };
  };

  async function createTenant(label: string) {
    const [owner, member] = await Promise.all([newAccount(system, `${label}Owner`), newAccount(system, `${label}Member`)]);
    const org = await call(owner, 'POST', '/api/v1/organizations/', { name: `${label} Org` });
    expect(org.status).toBe(201);
    const invite = await call(owner, 'POST', '/api/v1/invites/', { organization: org.body.id, email: member.email, role: 'member' });
    expect(invite.status).toBe(201);
    expect((await call(member, 'POST', `/api/v1/invites/accept/${invite.body.token}/`)).status).toBe(200);
    const project = await eventually(async () => {
      const r = await call(owner, 'POST', '/api/v1/projects/', { organization: org.body.id, name: `${label} project`, description: 'd' });
      expect(r.status).toBe(201);
      return r.body;
    }, WAIT);
    const task = await eventually(async () => {
      const r = await call(owner, 'POST', '/api/v1/tasks/', { project: project.id, title: `${label} task`, assigned_to: member.id, due_date: '2030-05-06' });
      expect(r.status).toBe(201);
      return r.body;
    }, WAIT);
    const pending = await call(owner, 'POST', '/api/v1/invites/', { organization: org.body.id, email: `pending.${label.toLowerCase()}.${randomUUID().slice(0, 6)}@example.com` });
    expect(pending.status).toBe(201);
    await eventually(async () => {
      const members = await listAll(owner, `/api/v1/organizations/${org.body.id}/members/`);
      expect(members.map((m) => m.user.first_name).sort()).toEqual([`${label}Member`, `${label}Owner`]);
      return true;
    }, WAIT);
    const webhook = await call(owner, 'POST', '/api/v1/webhooks/', { organization: org.body.id, url: `http://127.0.0.1:1/${label}`, events: ['*'] });
    expect(webhook.status).toBe(201);
    expect((await call(owner, 'POST', `/api/v1/webhooks/${webhook.body.id}/ping/`)).status).toBe(202);
    const delivery = await eventually(async () => {
      const page = await call(owner, 'GET', `/api/v1/webhooks/${webhook.body.id}/deliveries/`);
      return page.body.results[0];
    }, WAIT);
    return {
      owner,
      member,
      org: org.body.id as string,
      project: project.id as string,
      task: task.id as string,
      invite: pending.body.id as string,
      webhook: webhook.body.id as string,
      delivery: delivery.id as string,
    };
  }

  // ---- valid values, from C, for the parts of a request that are not under attack

  function validParam(op: Operation, name: string): string {
    if (name === 'token') return 'no-such-invite-token';
    if (name === 'user_id') return C.member.id;
    if (name === 'delivery_id') return C.delivery;
    const prefix = op.path.split('/')[3];
    const byPrefix: Record<string, string> = { organizations: C.org, projects: C.project, tasks: C.task, invites: C.invite, webhooks: C.webhook };
    return byPrefix[prefix!] ?? randomUUID();
  }

  function validValue(name: string, schema: Schema): unknown {
    if ('default' in schema) return schema.default;
    const s = stringBranch(schema) ?? schema;
    if (s.enum) return s.enum[s.enum.length - 1];
    if (isUuidSchema(schema)) return ({ organization: C.org, project: C.project, assigned_to: C.member.id } as Record<string, string>)[name] ?? randomUUID();
    if (s.format === 'email' || name === 'email') return `hostile.${(emailCounter += 1)}.${randomUUID().slice(0, 6)}@example.com`;
    if (s.format === 'date') return '2030-01-02';
    if (s.format === 'date-time') return '2030-01-02T03:04:05.000Z';
    if (name === 'password') return 'violet-harbor-5531';
    if (name === 'url') return 'http://127.0.0.1:1/hostile';
    if (name === 'events') return ['*'];
    if (s.type === 'string') return `hostile ${name}`;
    if (s.type === 'integer' || s.type === 'number') return s.minimum ?? 1;
    if (s.type === 'boolean') return true;
    return null;
  }

  /** The required properties, valid. */
  function baseBody(op: Operation): Record<string, unknown> {
    const props: Record<string, Schema> = op.body?.properties ?? {};
    return Object.fromEntries((op.body?.required ?? []).map((name: string) => [name, validValue(name, props[name] ?? {})]));
  }

  function pathOf(op: Operation, override: Record<string, string> = {}): string {
    return op.path.replace(/\{([^}]+)\}/g, (_, name: string) => override[name] ?? encodeURIComponent(validParam(op, name)));
  }

  function queryOf(op: Operation): string {
    const required = op.queryParams.filter((q) => q.required);
    if (required.length === 0) return '';
    return `?${required.map((q) => `${q.name}=${encodeURIComponent(String(validValue(q.name, q.schema)))}`).join('&')}`;
  }

  function jsonRequest(op: Operation, body: string | Buffer, headers: Record<string, string> = {}, extra: Partial<RawRequest> = {}): RawRequest {
    return {
      method: op.method,
      path: pathOf(op) + queryOf(op),
      headers: { authorization: `Bearer ${C.owner.access}`, 'content-type': 'application/json', ...headers },
      body,
      ...extra,
    };
  }

  function casesOf(op: Operation): Case[] {
    const cases: Case[] = [];
    const add = (what: string, request: RawRequest, want: Want) => cases.push({ op, what, request, want });
    const auth = { authorization: `Bearer ${C.owner.access}` };

    // -- bodies: every method that may carry one
    if (op.method !== 'GET') {
      add('malformed JSON', jsonRequest(op, '{"title": "x",'), { status: 400 });
      add('JSON with trailing garbage', jsonRequest(op, '{"a":1}}'), { status: 400 });
      add('single-quoted pseudo JSON', jsonRequest(op, "{'a': 1}"), { status: 400 });
      add('invalid UTF-8 bytes', jsonRequest(op, Buffer.from([0x7b, 0x22, 0x61, 0x22, 0x3a, 0x22, 0xff, 0xfe, 0x22, 0x7d])), { status: 400 });
      add('body over 1 MiB', jsonRequest(op, JSON.stringify({ title: 'x'.repeat(MIB + 10) })), { status: 413 });
      add('body over 1 MiB, chunked', jsonRequest(op, JSON.stringify({ title: 'y'.repeat(MIB + 10) }), {}, { chunked: true }), { status: 413 });
      for (const type of ['text/plain', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x', 'application/xml', 'application/octet-stream', 'json']) {
        add(`content type ${type}`, jsonRequest(op, JSON.stringify(baseBody(op)), { 'content-type': type }), { status: 415 });
      }
    }
    if (op.body) {
      const props: Record<string, Schema> = op.body.properties ?? {};
      const required: string[] = op.body.required ?? [];
      // Fresh every time: unique fields (an email to register) must not collide between cases.
      const base = () => baseBody(op);
      const json = (value: unknown) => jsonRequest(op, JSON.stringify(value));
      for (const [what, raw] of Object.entries({ array: '[]', 'array of the body': JSON.stringify([base()]), string: '"a string"', number: '42', null: 'null', boolean: 'true' })) {
        add(`JSON ${what} instead of an object`, jsonRequest(op, raw), { status: 400 });
      }
      add('deeply nested JSON', jsonRequest(op, `${'['.repeat(5000)}${']'.repeat(5000)}`), { status: 400 });
      add('deeply nested object', jsonRequest(op, `${'{"a":'.repeat(5000)}1${'}'.repeat(5000)}`), 'client-error');
      add('empty object', json({}), required.length > 0 ? { status: 400 } : 'not-5xx');
      const extra = JSON.stringify({ ...base(), is_superuser: true, organization_id: randomUUID(), constructor: { prototype: { admin: true } } });
      add('unknown extra fields', jsonRequest(op, `{"__proto__":{"admin":true},${extra.slice(1)}`), op.body.additionalProperties === false ? { status: 400 } : 'not-5xx');
      for (const name of required) {
        const { [name]: _gone, ...rest } = base();
        add(`missing required ${name}`, json(rest), { status: 400, field: name });
      }
      for (const [name, schema] of Object.entries(props)) {
        for (const wrong of WRONG_TYPED.filter((v) => !typeAllowed(schema, v))) {
          add(`${name} = ${JSON.stringify(wrong)} (wrong type)`, json({ ...base(), [name]: wrong }), { status: 400, field: name });
        }
        const str = stringBranch(schema);
        if (!str) continue;
        const huge = 'h'.repeat(100_000);
        add(`${name} of 100k chars`, json({ ...base(), [name]: huge }), (str.maxLength ?? Infinity) < huge.length ? { status: 400, field: name } : 'not-5xx');
        for (const [label, value] of Object.entries(UNICODE)) {
          // JSON.stringify writes lone surrogates as raw `\ud800` escapes, exactly what a hostile client sends.
          add(`${name} with ${label}`, json({ ...base(), [name]: value }), 'not-5xx');
        }
        add(`${name} with an SQL fragment`, json({ ...base(), [name]: "x'); DROP TABLE tasks;--" }), 'not-5xx');
      }
    }

    // -- path parameters
    for (const param of op.pathParams) {
      for (const [label, value] of Object.entries(BAD_PATH_VALUES)) {
        const body = op.body ? JSON.stringify(baseBody(op)) : undefined;
        add(
          `path ${param.name}: ${label}`,
          { method: op.method, path: pathOf(op, { [param.name]: value }) + queryOf(op), headers: { ...auth, ...(body ? { 'content-type': 'application/json' } : {}) }, body },
          // A malformed or unknown id is "not found"; a token that is not one is refused as 400 or 404.
          isUuidSchema(param.schema) ? { status: 404 } : 'client-error',
        );
      }
    }

    // -- query parameters
    const get = (query: string): RawRequest => {
      const base = queryOf(op);
      const sep = base ? '&' : '?';
      return { method: op.method, path: `${pathOf(op)}${base}${query ? sep + query : ''}`, headers: auth };
    };
    if (op.method === 'GET') {
      add('unknown query parameters', get('foo=bar&__proto__=x&constructor=y'), 'not-5xx');
      for (const q of op.queryParams.filter((p) => p.required)) {
        add(`required query ${q.name} missing`, { method: op.method, path: pathOf(op), headers: auth }, { status: 400 });
      }
    }
    for (const q of op.queryParams) {
      const n = q.name;
      if (n === 'limit') {
        for (const bad of ['-1', '0', 'abc', '1.5', '', 'NaN', 'Infinity']) add(`limit=${bad}`, get(`limit=${bad}`), 'client-error');
        for (const odd of ['1e9', '99999999999999999999999', '200', '201', '0x10', '%205%20']) add(`limit=${odd}`, get(`limit=${odd}`), 'not-5xx');
        add('repeated limit', get('limit=1&limit=2'), 'not-5xx');
        continue;
      }
      if (n === 'cursor') {
        for (const bad of BAD_CURSORS) add(`cursor=${bad.slice(0, 40)}`, get(`cursor=${encodeURIComponent(bad)}`), 'client-error');
        add('repeated cursor', get(`cursor=${BAD_CURSORS[1]}&cursor=${BAD_CURSORS[2]}`), 'client-error');
        continue;
      }
      const strict = q.schema.enum || q.schema.items?.enum || q.schema.format === 'date' || q.schema.format === 'date-time';
      for (const [label, value] of Object.entries({
        'SQL injection': "' OR 1=1--",
        'SQL union': "x' UNION SELECT password FROM identity.users--",
        traversal: '../../etc/passwd',
        NUL: '\u0000',
        'very long': 'q'.repeat(5000),
        emoji: '😀',
        'RTL override': '\u202E',
        'lone surrogate': '%ED%A0%80',
        empty: '',
        'LIKE wildcards': '%_%\\',
      })) {
        const encoded = label === 'lone surrogate' ? value : encodeURIComponent(value);
        // A malformed value of an enum or date is a 400; filters of free text or ids may just match nothing.
        add(`${n}: ${label}`, get(`${n}=${encoded}`), strict && label !== 'empty' ? 'client-error' : 'not-5xx');
      }
      add(`${n} repeated`, get(`${n}=a&${n}=b`), 'not-5xx');
      add(`${n}[] array syntax`, get(`${n}[]=a&${n}[0]=b`), 'not-5xx');
      if (q.schema.items?.maxItems) add(`${n} repeated past maxItems`, get(Array.from({ length: q.schema.items.maxItems + 5 }, () => `${n}=todo`).join('&')), 'not-5xx');
    }
    return cases;
  }

  function check(c: Case, res: Answer): string | undefined {
    const problem = /^application\/problem\+json/.test(res.contentType) && typeof res.body === 'object' && res.body?.status === res.status;
    const where = `${c.op.key} [${c.what}] -> ${res.status} ${res.text.slice(0, 300)}`;
    if (res.status >= 500) return `5xx: ${where}`;
    if (res.status >= 400 && !problem) return `4xx that is not problem+json: ${where}`;
    if (c.want === 'not-5xx') return undefined;
    if (c.want === 'client-error') return res.status >= 400 && res.status < 500 ? undefined : `expected a 4xx: ${where}`;
    const { status, field } = c.want;
    if (res.status !== status) return `expected ${status}: ${where}`;
    if (field && !Object.keys(res.body.errors ?? {}).some((k) => k === field || k.startsWith(`${field}.`))) return `expected errors.${field}: ${where}`;
    return undefined;
  }

  async function runCases(cases: Case[]): Promise<string[]> {
    const problems = await inBatches(cases, BATCH, async (c) => {
      let res: Answer;
      try {
        res = await sendRaw(system.url, c.request);
      } catch (err) {
        return `no answer: ${c.op.key} [${c.what}]: ${(err as Error).message}`;
      }
      if (res.status >= 200 && res.status < 300) accepted.push({ op: c.op, what: c.what, body: res.body });
      return check(c, res);
    });
    return problems.filter((p): p is string => p !== undefined);
  }

  beforeAll(async () => {
    system = await startSystem();
    const [a, c] = await Promise.all([createTenant('Alpha'), createTenant('Charlie')]);
    A = { owner: a.owner, org: a.org };
    C = c;
    const doc = await sendRaw(system.url, { method: 'GET', path: '/api/v1/openapi.json' });
    expect(doc.status).toBe(200);
    ops = operationsOf(dereference(doc.body));
    beforeA = await snapshot(A.owner, A.org);
    beforeC = await countsOfC();
    initialC = {
      org: (await call(C.owner, 'GET', `/api/v1/organizations/${C.org}/`)).body,
      project: (await call(C.owner, 'GET', `/api/v1/projects/${C.project}/`)).body,
      task: (await call(C.owner, 'GET', `/api/v1/tasks/${C.task}/`)).body,
    };
  }, 60_000);
  afterAll(() => system?.close());

  it('reads every operation, its parameters and body schemas from the OpenAPI document', () => {
    expect(ops.length).toBeGreaterThan(20);
    for (const key of ['POST /api/v1/tasks/', 'PATCH /api/v1/tasks/{id}/', 'GET /api/v1/activity/', 'POST /api/v1/auth/register/', 'DELETE /api/v1/organizations/{id}/members/{user_id}/']) {
      expect(ops.map((o) => o.key)).toContain(key);
    }
    expect(ops.find((o) => o.key === 'POST /api/v1/tasks/')!.body!.properties).toHaveProperty('assigned_to');
    expect(ops.find((o) => o.key === 'GET /api/v1/tasks/')!.queryParams.map((q) => q.name)).toEqual(expect.arrayContaining(['limit', 'cursor', 'status']));
  });

  // Jest needs its tests before the document is fetched, so the operations are split into groups by the
  // path's first segment; any operation of any group runs, and a final check proves every one was reached.
  const reached = new Set<string>();
  const groups = ['auth', 'organizations', 'invites', 'projects', 'tasks', 'activity', 'webhooks', '*'];
  for (const group of groups) {
    it(`answers hostile input to ${group === '*' ? 'every other operation' : `/api/v1/${group}/...`} with 4xx problem+json only`, async () => {
      const mine = ops.filter((op) => {
        const first = op.path.split('/')[3]!;
        return group === '*' ? !groups.includes(first) : first === group;
      });
      // Deletes last, so that nothing they might wrongly do hides a problem of another operation.
      mine.sort((a, b) => Number(a.method === 'DELETE') - Number(b.method === 'DELETE'));
      const cases = mine.flatMap(casesOf);
      mine.forEach((op) => reached.add(op.key));
      const problems = await runCases(cases);
      expect(problems).toEqual([]);
      if (group !== '*') expect(cases.length).toBeGreaterThan(0);
    }, 60_000);
  }

  it('sent hostile input to every operation of the document', () => {
    expect(ops.map((o) => o.key).filter((k) => !reached.has(k))).toEqual([]);
  });

  // ---------------------------------------------------------------- forged tokens

  it('refuses forged, expired, misdirected and refresh tokens with 401 on every protected operation, at the gateway and at each upstream', async () => {
    const jwks = await sendRaw(system.url, { method: 'GET', path: '/api/v1/auth/jwks/' });
    expect(jwks.status).toBe(200);
    const jwk = jwks.body.keys[0];
    const kid: string = jwk.kid;
    const publicKey = createPublicKey({ key: jwk, format: 'jwk' });
    const spkiPem = publicKey.export({ type: 'spki', format: 'pem' }) as string;
    const pkcs1Pem = publicKey.export({ type: 'pkcs1', format: 'pem' }) as string;
    const { privateKey: throwaway, publicKey: throwawayPublic } = generateKeyPairSync('rsa', { modulusLength: 2048 });

    const enc = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url');
    const now = Math.floor(Date.now() / 1000);
    const claims = (extra: Record<string, unknown> = {}) => ({
      sub: C.owner.id,
      email: C.owner.email,
      iss: 'taskflow-identity',
      aud: 'taskflow-api',
      iat: now,
      exp: now + 900,
      jti: randomUUID(),
      ...extra,
    });
    const rs256 = (header: Record<string, unknown>, payload: Record<string, unknown>, key: KeyObject = throwaway) => {
      const input = `${enc({ alg: 'RS256', typ: 'JWT', ...header })}.${enc(payload)}`;
      return `${input}.${rsaSign('sha256', Buffer.from(input), key).toString('base64url')}`;
    };
    const hs256 = (secret: string | Buffer) => {
      const input = `${enc({ alg: 'HS256', typ: 'JWT', kid })}.${enc(claims())}`;
      return `${input}.${createHmac('sha256', secret).update(input).digest('base64url')}`;
    };
    const [realHeader, realPayload, realSignature] = C.owner.access.split('.') as [string, string, string];
    const realClaims = JSON.parse(Buffer.from(realPayload, 'base64url').toString());

    const forged: Record<string, string> = {
      'alg none': `${enc({ alg: 'none', typ: 'JWT', kid })}.${enc(claims())}.`,
      'alg None': `${enc({ alg: 'None', typ: 'JWT', kid })}.${enc(claims())}.`,
      'alg none with the real signature': `${enc({ alg: 'none', typ: 'JWT', kid })}.${realPayload}.${realSignature}`,
      'HS256 keyed with the public key (SPKI PEM)': hs256(spkiPem),
      'HS256 keyed with the public key (PKCS#1 PEM)': hs256(pkcs1Pem),
      'HS256 keyed with the JWK modulus': hs256(Buffer.from(jwk.n, 'base64url')),
      'RS256 by another key with the real kid': rs256({ kid }, claims()),
      'expired (another key, real kid)': rs256({ kid }, claims({ iat: now - 7200, exp: now - 3600 })),
      'wrong issuer (another key, real kid)': rs256({ kid }, claims({ iss: 'evil-issuer' })),
      'wrong audience (another key, real kid)': rs256({ kid }, claims({ aud: 'some-other-api' })),
      'unknown kid': rs256({ kid: `unknown-${randomUUID()}` }, claims()),
      'no kid': rs256({}, claims()),
      'kid with a path traversal': rs256({ kid: '../../../../dev/null' }, claims()),
      'kid with SQL': rs256({ kid: "' OR 1=1--" }, claims()),
      'embedded jwk header': rs256({ kid, jwk: { ...(throwawayPublic.export({ format: 'jwk' }) as object), kid } }, claims()),
      'jku pointing elsewhere': rs256({ kid, jku: 'http://127.0.0.1:1/jwks.json' }, claims()),
      'real token, payload changed': `${realHeader}.${enc({ ...realClaims, sub: randomUUID() })}.${realSignature}`,
      'real token, expiry extended': `${realHeader}.${enc({ ...realClaims, exp: realClaims.exp + 86400 })}.${realSignature}`,
      'real token, signature stripped': `${realHeader}.${realPayload}.`,
      'real token, two parts': `${realHeader}.${realPayload}`,
      'refresh token as bearer': C.owner.refresh,
      garbage: 'garbage',
      'three dots': 'a.b.c',
      'very long': 'x'.repeat(8000),
    };

    const protectedOps = ops.filter((op) => op.secured);
    expect(protectedOps.length).toBeGreaterThan(15);
    const attempts = protectedOps.flatMap((op) => {
      const upstream = resolveRoute(op.path.replace(/\/$/, ''));
      const body = op.body ? JSON.stringify(baseBody(op)) : undefined;
      const path = pathOf(op) + queryOf(op);
      const targets: [string, string][] = [['gateway', system.url]];
      if (upstream) targets.push([upstream.upstream, system.services[upstream.upstream].url]);
      return targets.flatMap(([where, base]) =>
        Object.entries(forged).map(([label, token]) => ({ op, where, base, label, token, path, body })),
      );
    });
    // Every upstream is reached directly at least once.
    expect(new Set(attempts.map((a) => a.where))).toEqual(new Set(['gateway', 'identity', 'tenancy', 'work', 'audit', 'webhooks']));

    const problems = await inBatches(attempts, BATCH * 2, async (a) => {
      let res: Answer;
      try {
        res = await sendRaw(a.base, {
          method: a.op.method,
          path: a.path,
          headers: { authorization: `Bearer ${a.token}`, ...(a.body ? { 'content-type': 'application/json' } : {}) },
          body: a.body,
        });
      } catch (err) {
        return `no answer: ${a.where} ${a.op.key} [${a.label}]: ${(err as Error).message}`;
      }
      if (res.status !== 401 || !/^application\/problem\+json/.test(res.contentType)) return `${a.where} ${a.op.key} [${a.label}] -> ${res.status} ${res.text.slice(0, 200)}`;
      return undefined;
    });
    expect(problems.filter(Boolean)).toEqual([]);

    // The real token still works, so the 401s above were about the forgeries.
    const me = await call(C.owner, 'GET', '/api/v1/auth/me/');
    expect(me.status).toBe(200);
    expect(me.body.id).toBe(C.owner.id);
    const noToken = await sendRaw(system.url, { method: 'GET', path: '/api/v1/auth/me/', headers: { authorization: 'Basic YTpi' } });
    expect(noToken.status).toBe(401);
  }, 60_000);

  // ---------------------------------------------------------------- nothing changed that should not have

  it('left tenant A exactly as it was, and tenant C grown only by accepted creates', async () => {
    expect(await snapshot(A.owner, A.org)).toEqual(beforeA);

    const created = (collection: 'projects' | 'tasks' | 'invites') =>
      accepted.filter(({ op, body }) => {
        if (op.method !== 'POST' || body?.organization !== C.org) return false;
        if (collection === 'invites') return op.path.includes('invite') && !op.path.includes('accept');
        return op.path === `/api/v1/${collection}/`;
      }).length;
    const orgsCreated = accepted.filter(({ op }) => op.method === 'POST' && op.path === '/api/v1/organizations/').length;
    const deleted = accepted.filter(({ op }) => op.method === 'DELETE');
    expect(deleted.map((d) => `${d.op.key} [${d.what}]`)).toEqual([]);
    expect(await countsOfC()).toEqual({
      members: beforeC.members,
      projects: beforeC.projects! + created('projects'),
      tasks: beforeC.tasks! + created('tasks'),
      invites: beforeC.invites! + created('invites'),
      organizations: beforeC.organizations! + orgsCreated,
    });

    // Each C object under attack is either as it started or as an accepted request left it.
    for (const [name, path] of [
      ['org', `/api/v1/organizations/${C.org}/`],
      ['project', `/api/v1/projects/${C.project}/`],
      ['task', `/api/v1/tasks/${C.task}/`],
    ] as const) {
      const now = await call(C.owner, 'GET', path);
      expect(now.status).toBe(200);
      const allowed = [initialC[name], ...accepted.filter(({ op, body }) => ['PATCH', 'PUT'].includes(op.method) && body?.id === initialC[name].id).map((a) => a.body)];
      expect({ name, matches: allowed.some((b) => JSON.stringify(b) === JSON.stringify(now.body)) }).toEqual({ name, matches: true });
      if (name === 'task') expect(now.body.version).toBe(Math.max(...allowed.map((b) => b.version)));
    }
    const member = (await listAll(C.owner, `/api/v1/organizations/${C.org}/members/`)).find((m) => m.user.id === C.member.id);
    expect(member?.role).toBe('member');
  });
});
