// Tenant isolation, driven by the gateway's merged OpenAPI document: every public operation has an entry
// in ATTACKS saying how to attack it cross-tenant and what API.md promises in return, and the first test
// fails as soon as the document and the table disagree, so a new route cannot escape this suite.
//
// Two tenants, each with an owner, an admin and a member (joined by accepting invites with their tokens),
// projects, tasks (one assigned to the member), a pending invite and the activity all that produced.
// Tenant B's owner and B's plain member attack tenant A with A's ids; after every single attempt tenant A,
// as its owner sees it through the gateway, must be exactly what it was before the suite.
import { randomUUID } from 'node:crypto';
import { eventually } from '@taskflow/shared/testing';
import { type Account, newAccount, startSystem, type System } from './system';

const WAIT = 10_000;
const REQUEST_TIMEOUT_MS = 10_000;

// ---------------------------------------------------------------- the attack table

/**
 * A value in `path`, `query` or `body` that starts with `@` is a reference resolved at run time:
 * `@A.org`, `@A.project`, `@A.task`, `@A.invite` (pending), `@A.inviteToken`, `@A.owner`, `@A.admin`,
 * `@A.member` (user ids), `@A.webhook` (an endpoint), `@A.webhookDelivery` (its ping), `@A.ownerEmail`, the same for `@B.*`, `@self.id|email|password` (the attacker),
 * `@fresh.refresh` (a refresh token from a fresh login of the attacker), `@new.email` (an unused address).
 */
type Expect =
  /** Problem+json with this status (and `errors[field]` / `detail` when given). */
  | { status: number; field?: string; detail?: string }
  /** 200 list page that carries no trace of tenant A. */
  | { list: true }
  /** An endpoint without tenant data: this status, and no trace of tenant A in the answer. */
  | { noTenant: number }
  /** `/me`: exactly the caller, nothing of anyone else. */
  | { me: true };

interface Attack {
  why: string;
  path?: Record<string, string>;
  query?: Record<string, string>;
  body?: Record<string, unknown>;
  expect: Expect;
  /** What B's plain member gets instead, when the role check legitimately answers first. */
  asMember?: Expect;
}

const FULL_TASK = { title: 'Planted', description: '', assigned_to: null, status: 'todo', priority: 'low', due_date: null };

const ATTACKS: Record<string, Attack[]> = {
  // ---- identity: no tenant data; /me answers only the caller
  'POST /api/v1/auth/register/': [
    { why: 'no tenant data: a new account', body: { email: '@new.email', password: '@self.password', first_name: 'Mallory', last_name: 'B' }, expect: { noTenant: 201 } },
    { why: "A's owner's address (other case) cannot be taken over", body: { email: '@A.ownerEmailUpper', password: '@self.password', first_name: 'Mallory', last_name: 'B' }, expect: { status: 400, field: 'email' } },
  ],
  'POST /api/v1/auth/login/': [
    { why: 'no tenant data: own login', body: { email: '@self.email', password: '@self.password' }, expect: { noTenant: 200 } },
    { why: "A's owner's email with a guessed password", body: { email: '@A.ownerEmail', password: 'guessed-password-123' }, expect: { status: 401 } },
  ],
  'POST /api/v1/auth/refresh/': [{ why: 'no tenant data: own refresh token', body: { refresh: '@fresh.refresh' }, expect: { noTenant: 200 } }],
  'POST /api/v1/auth/logout/': [{ why: 'no tenant data: own refresh token', body: { refresh: '@fresh.refresh' }, expect: { noTenant: 204 } }],
  'GET /api/v1/auth/me/': [{ why: 'only the caller', expect: { me: true } }],
  'GET /api/v1/auth/jwks/': [{ why: 'no tenant data: public keys', expect: { noTenant: 200 } }],
  'POST /api/v1/auth/verify-email/{token}/': [{ why: 'a token that is no one\'s', path: { token: 'not-a-verification-token' }, expect: { status: 400 } }],
  'POST /api/v1/auth/verify-email/resend/': [{ why: 'no tenant data: a new link to the caller only', expect: { noTenant: 202 } }],
  'POST /api/v1/auth/password-reset/': [
    { why: "A's owner's address: the same 202 as any, the link goes to A's owner only", body: { email: '@A.ownerEmail' }, expect: { noTenant: 202 } },
  ],
  'POST /api/v1/auth/password-reset/{token}/': [
    { why: "take over an account with a guessed link", path: { token: 'guessed-reset-token' }, body: { password: 'taken-over-password-1' }, expect: { status: 400 } },
  ],

  // ---- organizations and members
  'GET /api/v1/organizations/': [{ why: "never lists A's organization", expect: { list: true } }],
  'POST /api/v1/organizations/': [{ why: 'no tenant field: founds an organization of its own', body: { name: 'Mallory Holdings' }, expect: { noTenant: 201 } }],
  'GET /api/v1/organizations/{id}/': [{ why: "A's organization", path: { id: '@A.org' }, expect: { status: 404 } }],
  'PATCH /api/v1/organizations/{id}/': [{ why: "rename A's organization", path: { id: '@A.org' }, body: { name: 'Taken over' }, expect: { status: 404 } }],
  'DELETE /api/v1/organizations/{id}/': [{ why: "delete A's organization", path: { id: '@A.org' }, expect: { status: 404 } }],
  'GET /api/v1/organizations/{id}/members/': [{ why: "A's members", path: { id: '@A.org' }, expect: { status: 404 } }],
  'PATCH /api/v1/organizations/{id}/members/{user_id}/': [
    { why: "promote A's member in A", path: { id: '@A.org', user_id: '@A.member' }, body: { role: 'owner' }, expect: { status: 404 } },
    { why: "demote A's owner in A", path: { id: '@A.org', user_id: '@A.owner' }, body: { role: 'member' }, expect: { status: 404 } },
    { why: 'make oneself an owner of A', path: { id: '@A.org', user_id: '@self.id' }, body: { role: 'owner' }, expect: { status: 404 } },
    { why: "A's member through B's organization", path: { id: '@B.org', user_id: '@A.member' }, body: { role: 'admin' }, expect: { status: 404 } },
  ],
  'DELETE /api/v1/organizations/{id}/members/{user_id}/': [
    { why: "remove A's member from A", path: { id: '@A.org', user_id: '@A.member' }, expect: { status: 404 } },
    { why: "remove A's owner from A", path: { id: '@A.org', user_id: '@A.owner' }, expect: { status: 404 } },
    { why: 'leave A without being in it', path: { id: '@A.org', user_id: '@self.id' }, expect: { status: 404 } },
    { why: "A's member through B's organization", path: { id: '@B.org', user_id: '@A.member' }, expect: { status: 404 } },
  ],

  // ---- invites
  'POST /api/v1/invites/': [
    { why: 'invite into A', body: { organization: '@A.org', email: '@new.email', role: 'member' }, expect: { status: 400, field: 'organization' } },
    { why: 'mint an owner of A', body: { organization: '@A.org', email: '@self.email', role: 'owner' }, expect: { status: 400, field: 'organization' } },
  ],
  'POST /api/v1/organizations/invite/': [
    { why: 'invite into A (alias)', body: { organization: '@A.org', email: '@new.email', role: 'member' }, expect: { status: 400, field: 'organization' } },
    { why: 'mint an owner of A (alias)', body: { organization: '@A.org', email: '@self.email', role: 'owner' }, expect: { status: 400, field: 'organization' } },
  ],
  'GET /api/v1/invites/': [
    { why: "A's invites", query: { organization: '@A.org' }, expect: { status: 404 } },
    { why: "A's pending invites", query: { organization: '@A.org', status: 'pending' }, expect: { status: 404 } },
  ],
  'GET /api/v1/invites/mine/': [{ why: "never lists A's invites", expect: { list: true } }],
  'DELETE /api/v1/invites/{id}/': [{ why: "revoke A's pending invite", path: { id: '@A.invite' }, expect: { status: 404 } }],
  'POST /api/v1/invites/accept/{token}/': [
    { why: "accept A's pending invite addressed to someone else", path: { token: '@A.inviteToken' }, expect: { status: 400, detail: 'Invite email mismatch' } },
  ],
  'POST /api/v1/organizations/invite/accept/{token}/': [
    { why: "accept A's pending invite (alias)", path: { token: '@A.inviteToken' }, expect: { status: 400, detail: 'Invite email mismatch' } },
  ],

  // ---- projects
  'GET /api/v1/projects/': [
    { why: "never lists A's projects", expect: { list: true } },
    { why: 'filter by A', query: { organization: '@A.org' }, expect: { status: 404 } },
  ],
  'POST /api/v1/projects/': [
    { why: 'create a project in A', body: { organization: '@A.org', name: 'Planted' }, expect: { status: 400, field: 'organization' } },
  ],
  'GET /api/v1/projects/{id}/': [{ why: "A's project", path: { id: '@A.project' }, expect: { status: 404 } }],
  'PATCH /api/v1/projects/{id}/': [{ why: "rename A's project", path: { id: '@A.project' }, body: { name: 'Mine now' }, expect: { status: 404 } }],
  'PUT /api/v1/projects/{id}/': [
    { why: "replace A's project", path: { id: '@A.project' }, body: { name: 'Mine now', description: 'pwned' }, expect: { status: 404 } },
  ],
  'DELETE /api/v1/projects/{id}/': [{ why: "delete A's project", path: { id: '@A.project' }, expect: { status: 404 } }],

  // ---- tasks
  'GET /api/v1/tasks/': [
    { why: "never lists A's tasks", expect: { list: true } },
    { why: 'filter by A', query: { organization: '@A.org' }, expect: { status: 404 } },
    { why: "filter by A's project: an empty page", query: { project: '@A.project' }, expect: { list: true } },
    { why: "filter by A's member", query: { assigned_to: '@A.member' }, expect: { list: true } },
    { why: "search for A's task title", query: { q: '@A.marker' }, expect: { list: true } },
  ],
  'POST /api/v1/tasks/': [
    { why: "a task in A's project", body: { project: '@A.project', title: 'Planted' }, expect: { status: 400, field: 'project' } },
    {
      why: "assign B's task to A's member",
      body: { project: '@B.project', title: 'Poach', assigned_to: '@A.member' },
      expect: { status: 400, field: 'assigned_to' },
      asMember: { status: 403 },
    },
  ],
  'GET /api/v1/tasks/{id}/': [{ why: "A's task", path: { id: '@A.task' }, expect: { status: 404 } }],
  'PATCH /api/v1/tasks/{id}/': [
    { why: "change A's task", path: { id: '@A.task' }, body: { status: 'done' }, expect: { status: 404 } },
    { why: "move B's task into A's project", path: { id: '@B.task' }, body: { project: '@A.project' }, expect: { status: 400, field: 'project' }, asMember: { status: 403 } },
    { why: "assign B's task to A's member", path: { id: '@B.task' }, body: { assigned_to: '@A.member' }, expect: { status: 400, field: 'assigned_to' }, asMember: { status: 403 } },
  ],
  'PUT /api/v1/tasks/{id}/': [
    { why: "replace A's task", path: { id: '@A.task' }, body: { ...FULL_TASK, project: '@A.project' }, expect: { status: 404 } },
    { why: "replace B's task into A's project", path: { id: '@B.task' }, body: { ...FULL_TASK, project: '@A.project' }, expect: { status: 400, field: 'project' }, asMember: { status: 403 } },
    {
      why: "replace B's task assigned to A's member",
      path: { id: '@B.task' },
      body: { ...FULL_TASK, project: '@B.project', assigned_to: '@A.member' },
      expect: { status: 400, field: 'assigned_to' },
      asMember: { status: 403 },
    },
  ],
  'DELETE /api/v1/tasks/{id}/': [{ why: "delete A's task", path: { id: '@A.task' }, expect: { status: 404 } }],

  // ---- activity
  'GET /api/v1/activity/': [
    { why: "never lists A's activity", expect: { list: true } },
    { why: 'filter by A', query: { organization: '@A.org' }, expect: { status: 404 } },
    { why: "filter by A's owner as actor", query: { actor: '@A.owner' }, expect: { list: true } },
    { why: "filter by A's task as target", query: { target_type: 'task', target_id: '@A.task' }, expect: { list: true } },
  ],
  'GET /api/v1/activity/stream/': [{ why: "follow A's changes", query: { organization: '@A.org' }, expect: { status: 404 } }],

  // ---- notifications: only the caller's own, whatever ids are named
  'GET /api/v1/notifications/': [{ why: "never lists anyone else's notifications", expect: { list: true } }],
  'GET /api/v1/notifications/unread-count/': [{ why: 'counts only its own', expect: { noTenant: 200 } }],
  'POST /api/v1/notifications/read/': [{ why: "marking ids that are not its own changes nothing", body: { ids: ['@A.task', '@A.project'] }, expect: { noTenant: 204 } }],
  'GET /api/v1/notifications/preferences/': [{ why: 'its own preferences only', expect: { noTenant: 200 } }],
  'PATCH /api/v1/notifications/preferences/': [{ why: 'its own preferences only', body: { email: { 'task.assigned': false } }, expect: { noTenant: 200 } }],
  'GET /api/v1/notifications/stream/': [{ why: "resume after an id that is not its own notification", query: { after: '@A.task' }, expect: { status: 400 } }],

  // ---- webhooks
  'GET /api/v1/webhooks/': [{ why: "A's endpoints", query: { organization: '@A.org' }, expect: { status: 404 } }],
  'POST /api/v1/webhooks/': [
    { why: "an endpoint in A, to receive A's events", body: { organization: '@A.org', url: 'http://127.0.0.1:1/mallory', events: ['*'] }, expect: { status: 400, field: 'organization' } },
  ],
  'GET /api/v1/webhooks/{id}/': [{ why: "A's endpoint", path: { id: '@A.webhook' }, expect: { status: 404 } }],
  'PATCH /api/v1/webhooks/{id}/': [
    { why: "redirect A's endpoint to Mallory", path: { id: '@A.webhook' }, body: { url: 'http://127.0.0.1:1/mallory' }, expect: { status: 404 } },
    { why: "disable A's endpoint", path: { id: '@A.webhook' }, body: { enabled: false }, expect: { status: 404 } },
  ],
  'DELETE /api/v1/webhooks/{id}/': [{ why: "delete A's endpoint", path: { id: '@A.webhook' }, expect: { status: 404 } }],
  'POST /api/v1/webhooks/{id}/rotate-secret/': [{ why: "take A's endpoint's new secret", path: { id: '@A.webhook' }, expect: { status: 404 } }],
  'POST /api/v1/webhooks/{id}/ping/': [{ why: "ping A's receiver", path: { id: '@A.webhook' }, expect: { status: 404 } }],
  'GET /api/v1/webhooks/{id}/deliveries/': [{ why: "A's deliveries", path: { id: '@A.webhook' }, expect: { status: 404 } }],
  'POST /api/v1/webhooks/{id}/deliveries/{delivery_id}/retry/': [
    { why: "replay A's delivery", path: { id: '@A.webhook', delivery_id: '@A.webhookDelivery' }, expect: { status: 404 } },
    { why: "replay A's delivery through B's endpoint", path: { id: '@B.webhook', delivery_id: '@A.webhookDelivery' }, expect: { status: 404 }, asMember: { status: 403 } },
  ],
};

// ---------------------------------------------------------------- plumbing

interface Answer {
  status: number;
  contentType: string;
  text: string;
  body: any;
}

/** One request through the gateway, never waiting longer than REQUEST_TIMEOUT_MS. */
async function send(base: string, method: string, path: string, options: { token?: string; body?: unknown } = {}): Promise<Answer> {
  const headers: Record<string, string> = {};
  if (options.token) headers.authorization = `Bearer ${options.token}`;
  if (options.body !== undefined) headers['content-type'] = 'application/json';
  const res = await fetch(`${base}${path}`, {
    method,
    headers,
    body: options.body === undefined ? undefined : JSON.stringify(options.body),
    signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
  });
  const text = await res.text();
  let body: any = text;
  try {
    body = text === '' ? undefined : JSON.parse(text);
  } catch {
    /* keep the text */
  }
  return { status: res.status, contentType: res.headers.get('content-type') ?? '', text, body };
}

interface Tenant {
  marker: string;
  owner: Account;
  admin: Account;
  member: Account;
  org: string;
  projects: string[];
  tasks: string[];
  /** The task assigned to the member. */
  task: string;
  invite: string;
  inviteToken: string;
  inviteEmail: string;
  webhook: string;
  webhookDelivery: string;
}

describe('tenant isolation of every operation in the OpenAPI document', () => {
  let system: System;
  let A: Tenant;
  let B: Tenant;
  let operations: string[];
  let before: unknown;

  const call = (who: Account, method: string, path: string, body?: unknown) => send(system.url, method, path, { token: who.access, body });

  async function listAll(who: Account, first: string): Promise<any[]> {
    const items: any[] = [];
    for (let next: string | null = first; next; ) {
      const page = await call(who, 'GET', next);
      if (page.status !== 200) throw new Error(`GET ${next} as ${who.email}: ${page.status} ${page.text}`);
      items.push(...page.body.results);
      next = page.body.next;
    }
    return items;
  }

  /** Tenant A as its owner sees it through the gateway. */
  const snapshot = async (t: Tenant) => ({
    org: (await call(t.owner, 'GET', `/api/v1/organizations/${t.org}/`)).body,
    members: await listAll(t.owner, `/api/v1/organizations/${t.org}/members/?limit=200`),
    projects: await listAll(t.owner, `/api/v1/projects/?organization=${t.org}&limit=200`),
    tasks: await listAll(t.owner, `/api/v1/tasks/?organization=${t.org}&limit=200`),
    invites: await listAll(t.owner, `/api/v1/invites/?organization=${t.org}&limit=200`),
    webhooks: await listAll(t.owner, `/api/v1/webhooks/?organization=${t.org}&limit=200`),
  });

  async function createTenant(label: string): Promise<Tenant> {
    const marker = `${label}${randomUUID().slice(0, 8)}`;
    const [owner, admin, member] = await Promise.all([
      newAccount(system, `${label}Owner`),
      newAccount(system, `${label}Admin`),
      newAccount(system, `${label}Member`),
    ]);
    const org = await call(owner, 'POST', '/api/v1/organizations/', { name: `${marker} Org` });
    expect(org.status).toBe(201);
    for (const [account, role] of [
      [admin, 'admin'],
      [member, 'member'],
    ] as const) {
      const invite = await call(owner, 'POST', '/api/v1/invites/', { organization: org.body.id, email: account.email, role });
      expect(invite.status).toBe(201);
      const accepted = await call(account, 'POST', `/api/v1/invites/accept/${encodeURIComponent(invite.body.token)}/`);
      expect(accepted.status).toBe(200);
    }
    const projects: string[] = [];
    for (const name of ['Roadmap', 'Backlog']) {
      const p = await eventually(async () => {
        const res = await call(admin, 'POST', '/api/v1/projects/', { organization: org.body.id, name: `${marker} ${name}`, description: `${marker} project` });
        expect(res.status).toBe(201);
        return res.body;
      }, WAIT);
      projects.push(p.id);
    }
    const tasks: string[] = [];
    for (const [i, extra] of [{ assigned_to: member.id, priority: 'high' }, { status: 'in_progress' }, { due_date: '2031-03-04' }].entries()) {
      const res = await eventually(async () => {
        const r = await call(admin, 'POST', '/api/v1/tasks/', { project: projects[i % 2], title: `${marker} task ${i}`, description: `${marker} secret`, ...extra });
        expect(r.status).toBe(201);
        return r.body;
      }, WAIT);
      tasks.push(res.id);
    }
    // An edit, so the activity holds updates too.
    expect((await call(member, 'PATCH', `/api/v1/tasks/${tasks[0]}/`, { status: 'review' })).status).toBe(200);
    const inviteEmail = `pending.${marker.toLowerCase()}@example.com`;
    const pending = await call(owner, 'POST', '/api/v1/invites/', { organization: org.body.id, email: inviteEmail, role: 'admin' });
    expect(pending.status).toBe(201);
    // An endpoint (to a closed port: its deliveries fail and retry, its row stays as it is) and a ping delivery.
    const webhook = await eventually(async () => {
      const res = await call(owner, 'POST', '/api/v1/webhooks/', { organization: org.body.id, url: `http://127.0.0.1:1/${marker}`, events: ['*'] });
      expect(res.status).toBe(201);
      return res.body;
    }, WAIT);
    expect((await call(admin, 'POST', `/api/v1/webhooks/${webhook.id}/ping/`)).status).toBe(202);
    const ping = await eventually(async () => (await listAll(owner, `/api/v1/webhooks/${webhook.id}/deliveries/`)).find((d) => d.event_type === 'webhook.ping'), WAIT);
    const tenant: Tenant = {
      marker,
      owner,
      admin,
      member,
      org: org.body.id,
      projects,
      tasks,
      task: tasks[0]!,
      invite: pending.body.id,
      inviteToken: pending.body.token,
      inviteEmail,
      webhook: webhook.id,
      webhookDelivery: ping.id,
    };
    // Names reach tenancy by events, and activity by events: let both settle before anything is compared.
    await eventually(async () => {
      const members = await listAll(owner, `/api/v1/organizations/${tenant.org}/members/`);
      expect(members.map((m) => m.user.first_name).sort()).toEqual([`${label}Admin`, `${label}Member`, `${label}Owner`].sort());
      const activity = await listAll(owner, `/api/v1/activity/?organization=${tenant.org}&limit=200`);
      expect(activity.filter((e) => e.verb === 'task.updated')).toHaveLength(1);
      expect(activity.filter((e) => e.verb === 'invite.sent')).toHaveLength(3);
      return true;
    }, WAIT);
    return tenant;
  }

  beforeAll(async () => {
    system = await startSystem();
    [A, B] = await Promise.all([createTenant('Alpha'), createTenant('Bravo')]);
    const doc = await send(system.url, 'GET', '/api/v1/openapi.json');
    expect(doc.status).toBe(200);
    operations = Object.entries(doc.body.paths as Record<string, Record<string, unknown>>).flatMap(([path, item]) =>
      Object.keys(item)
        .filter((m) => ['get', 'put', 'post', 'patch', 'delete', 'head', 'options', 'trace'].includes(m))
        .map((m) => `${m.toUpperCase()} ${path}`),
    );
    before = await snapshot(A);
  }, 60_000);
  afterAll(() => system?.close());

  /** Strings that identify tenant A: none may appear in anything B is shown. */
  const traces = () =>
    [A.marker, A.org, ...A.projects, ...A.tasks, A.invite, A.inviteToken, A.inviteEmail, A.webhook, A.webhookDelivery, ...[A.owner, A.admin, A.member].flatMap((a) => [a.id, a.email])].map((s) =>
      s.toLowerCase(),
    );

  function resolve(value: unknown, attacker: Account, extras: { freshRefresh?: string }): unknown {
    if (Array.isArray(value)) return value.map((item) => resolve(item, attacker, extras));
    if (typeof value !== 'string' || !value.startsWith('@')) return value;
    const [scope, key] = value.slice(1).split('.') as [string, string];
    if (scope === 'self') return ({ id: attacker.id, email: attacker.email, password: attacker.password } as Record<string, string>)[key];
    if (scope === 'fresh') return extras.freshRefresh;
    if (scope === 'new') return `mallory.${randomUUID().slice(0, 8)}@example.com`;
    const t = scope === 'A' ? A : B;
    const table: Record<string, string> = {
      org: t.org,
      project: t.projects[0]!,
      task: t.task,
      invite: t.invite,
      inviteToken: t.inviteToken,
      owner: t.owner.id,
      admin: t.admin.id,
      member: t.member.id,
      ownerEmail: t.owner.email,
      ownerEmailUpper: t.owner.email.toUpperCase(),
      webhook: t.webhook,
      webhookDelivery: t.webhookDelivery,
      marker: t.marker,
    };
    if (!(key in table)) throw new Error(`unknown reference ${value}`);
    return table[key];
  }

  async function attempt(operation: string, attack: Attack, attacker: Account, role: 'owner' | 'member'): Promise<void> {
    const [method, template] = operation.split(' ') as [string, string];
    const needsRefresh = JSON.stringify(attack.body ?? {}).includes('@fresh.refresh');
    const extras: { freshRefresh?: string } = {};
    if (needsRefresh) {
      const login = await send(system.url, 'POST', '/api/v1/auth/login/', { body: { email: attacker.email, password: attacker.password } });
      expect(login.status).toBe(200);
      extras.freshRefresh = login.body.refresh;
    }
    let path = template.replace(/\{([^}]+)\}/g, (_, name: string) => {
      const value = attack.path?.[name];
      if (value === undefined) throw new Error(`${operation}: the table gives no value for path parameter ${name}`);
      return encodeURIComponent(String(resolve(value, attacker, extras)));
    });
    if (attack.query) {
      const q = new URLSearchParams(Object.entries(attack.query).map(([k, v]): [string, string] => [k, String(resolve(v, attacker, extras))]));
      path += `?${q.toString()}`;
    }
    const body = attack.body && Object.fromEntries(Object.entries(attack.body).map(([k, v]) => [k, resolve(v, attacker, extras)]));
    const res = await call(attacker, method, path, body);
    const expected = (role === 'member' && attack.asMember) || attack.expect;
    const label = { operation, why: attack.why, as: `B's ${role}`, path };
    const leaked = traces().filter((t) => res.text.toLowerCase().includes(t));
    // No answer to B, of any status, carries anything of A.
    expect({ ...label, leaked }).toEqual({ ...label, leaked: [] });

    if ('status' in expected) {
      expect({ ...label, status: res.status, body: res.body }).toEqual({ ...label, status: expected.status, body: expect.anything() });
      expect({ ...label, contentType: res.contentType }).toEqual({ ...label, contentType: expect.stringMatching(/^application\/problem\+json/) });
      expect(res.body).toMatchObject({ status: expected.status, code: expect.any(String) });
      if (expected.field) expect({ ...label, errors: Object.keys(res.body.errors ?? {}) }).toEqual({ ...label, errors: expect.arrayContaining([expected.field]) });
      if (expected.detail) expect({ ...label, detail: res.body.detail }).toEqual({ ...label, detail: expected.detail });
    } else if ('list' in expected) {
      expect({ ...label, status: res.status }).toEqual({ ...label, status: 200 });
      expect(res.body).toEqual({ results: expect.any(Array), next: res.body?.next === null ? null : expect.any(String) });
    } else if ('noTenant' in expected) {
      expect({ ...label, status: res.status }).toEqual({ ...label, status: expected.noTenant });
    } else {
      expect({ ...label, status: res.status }).toEqual({ ...label, status: 200 });
      expect(res.body).toEqual({
        id: attacker.id,
        email: attacker.email,
        first_name: expect.any(String),
        last_name: expect.any(String),
        date_joined: expect.any(String),
        email_verified: true,
      });
    }
    // Nothing of A changed, after every single attempt.
    expect({ ...label, tenantA: await snapshot(A) }).toEqual({ ...label, tenantA: before });
  }

  it('has an attack for every operation of the OpenAPI document, and none for an operation it lacks', () => {
    expect(operations.length).toBeGreaterThan(20);
    const table = Object.keys(ATTACKS);
    expect({ notInTable: operations.filter((op) => !table.includes(op)) }).toEqual({ notInTable: [] });
    expect({ notInDocument: table.filter((op) => !operations.includes(op)) }).toEqual({ notInDocument: [] });
    for (const [op, attacks] of Object.entries(ATTACKS)) expect({ op, attacks: attacks.length > 0 }).toEqual({ op, attacks: true });
  });

  it('starts from two complete tenants', () => {
    const s = before as Record<string, any>;
    expect(s.org).toMatchObject({ id: A.org, role: 'owner' });
    expect(s.members.map((m: any) => m.role).sort()).toEqual(['admin', 'member', 'owner']);
    expect(s.projects).toHaveLength(2);
    expect(s.tasks).toHaveLength(3);
    expect(s.invites.map((i: any) => i.status).sort()).toEqual(['accepted', 'accepted', 'pending']);
  });

  for (const [operation, attacks] of Object.entries(ATTACKS)) {
    it(`${operation}: tenant B cannot reach tenant A`, async () => {
      expect(operations).toContain(operation);
      for (const attack of attacks) {
        await attempt(operation, attack, B.owner, 'owner');
        await attempt(operation, attack, B.member, 'member');
      }
    });
  }

  it("leaves tenant A exactly as it was, its owner still able to sign in, and B's lists free of A", async () => {
    expect(await snapshot(A)).toEqual(before);
    const login = await send(system.url, 'POST', '/api/v1/auth/login/', { body: { email: A.owner.email, password: A.owner.password } });
    expect(login.status).toBe(200);
    // B's own data is still visible to B (the list checks above were not vacuous).
    const tasks = await listAll(B.owner, '/api/v1/tasks/?limit=200');
    expect(tasks.map((t) => t.id)).toEqual(expect.arrayContaining(B.tasks));
    const activity = await listAll(B.member, `/api/v1/activity/?organization=${B.org}&limit=200`);
    expect(activity.length).toBeGreaterThan(5);
    const all = JSON.stringify([tasks, activity, await listAll(B.owner, '/api/v1/projects/?limit=200'), await listAll(B.owner, '/api/v1/organizations/')]).toLowerCase();
    expect(traces().filter((t) => all.includes(t))).toEqual([]);
  });
});
