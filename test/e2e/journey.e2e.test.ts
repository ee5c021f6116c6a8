// End-to-end journeys through the gateway only: an organization is founded, staffed by invitation,
// filled with work, watched in the activity log, probed by an outsider, trimmed, and finally deleted.
// The tests run in order and build on each other's state, like a real customer's day.
import { eventually, type JsonResponse, request, waitForMailTo } from '@taskflow/shared/testing';
import { type Account, newAccount, startSystem, type System } from './system';

const WAIT = 10_000;
const PRIORITY_RANK: Record<string, number> = { low: 1, medium: 2, high: 3 };

type Task = Record<string, any> & { id: string };

describe('TaskFlow journeys through the gateway', () => {
  let system: System;
  let owner: Account;
  let admin: Account;
  let member: Account;
  let outsider: Account;

  let org: { id: string; name: string };
  let adminInvite: any;
  let memberInvite: any;
  let project: any;
  const tasks: Record<'spec' | 'design' | 'release' | 'docs' | 'idempotent', Task> = {} as any;
  const patchRequestId = `journey-member-patch-${Date.now().toString(36)}`;

  beforeAll(async () => {
    system = await startSystem();
    [owner, admin, member, outsider] = await Promise.all([
      newAccount(system, 'Olive'),
      newAccount(system, 'Adam'),
      newAccount(system, 'Mia'),
      newAccount(system, 'Oscar'),
    ]);
  });
  afterAll(() => system?.close());

  /** Every item of a list, following `next` until null. */
  async function listAll(account: Account, first: string): Promise<any[]> {
    const items: any[] = [];
    for (let next: string | null = first; next; ) {
      const page: { status: number; body: any } = await account.call('GET', next);
      expect({ path: next, status: page.status }).toEqual({ path: next, status: 200 });
      items.push(...page.body.results);
      next = page.body.next;
    }
    return items;
  }

  const activityOf = (account: Account, query = '') => listAll(account, `/api/v1/activity/?organization=${org.id}&limit=200${query}`);

  /** The invite mail addressed to `to` in the development outbox (decoded), once it has been written. */
  const inviteMailTo = (to: string) => waitForMailTo(system.mailDir, to, /https?:\/\/\S*\/invites\/accept\/([^/\s]+)\/?/, WAIT);

  // ---------------------------------------------------------------- 1. founding and inviting

  it('lets a new user found an organization and become its owner', async () => {
    const created = await owner.call('POST', '/api/v1/organizations/', { name: 'Journey Works' });
    expect(created.status).toBe(201);
    expect(created.body).toEqual({ id: expect.any(String), name: 'Journey Works', created_at: expect.stringMatching(/Z$/), role: 'owner' });
    org = { id: created.body.id, name: created.body.name };

    const listed = await owner.call('GET', '/api/v1/organizations/');
    expect(listed.status).toBe(200);
    expect(listed.body).toEqual({ results: [created.body], next: null });
    const detail = await owner.call('GET', `/api/v1/organizations/${org.id}`);
    expect(detail.status).toBe(200);
    expect(detail.body).toEqual(created.body);
  });

  it('sends invites that the invitees see as pending, with the token shown only to the sender', async () => {
    const send = (email: string, role: string) => owner.call('POST', '/api/v1/invites/', { organization: org.id, email, role });
    const toAdmin = await send(admin.email, 'admin');
    const toMember = await send(member.email.toUpperCase(), 'member');
    // The address is kept as typed; it is only compared case-insensitively.
    for (const [res, email, role] of [
      [toAdmin, admin.email, 'admin'],
      [toMember, member.email.toUpperCase(), 'member'],
    ] as const) {
      expect(res.status).toBe(201);
      expect(res.body).toEqual({
        id: expect.any(String),
        organization: org.id,
        organization_name: 'Journey Works',
        email,
        role,
        status: 'pending',
        invited_by: owner.id,
        created_at: expect.stringMatching(/Z$/),
        expires_at: expect.stringMatching(/Z$/),
        token: expect.any(String),
      });
      const lifetime = Date.parse(res.body.expires_at) - Date.parse(res.body.created_at);
      expect(Math.abs(lifetime - 7 * 24 * 3600 * 1000)).toBeLessThan(5000);
    }
    adminInvite = toAdmin.body;
    memberInvite = toMember.body;

    const mine = await member.call('GET', '/api/v1/invites/mine/');
    expect(mine.status).toBe(200);
    const { token: _token, ...withoutToken } = memberInvite;
    expect(mine.body).toEqual({ results: [withoutToken], next: null });
    expect((await outsider.call('GET', '/api/v1/invites/mine/')).body).toEqual({ results: [], next: null });

    const listed = await owner.call('GET', `/api/v1/invites/?organization=${org.id}&status=pending`);
    expect(listed.status).toBe(200);
    expect(listed.body.results.map((i: any) => i.id).sort()).toEqual([adminInvite.id, memberInvite.id].sort());
    expect(JSON.stringify(listed.body)).not.toContain(memberInvite.token);
  });

  describe('accepting the mailed invites', () => {
    let memberMail: Awaited<ReturnType<typeof inviteMailTo>>;
    let memberToken: string;
    let mismatch: JsonResponse;
    let pendingAfterMismatch: JsonResponse;
    let accepted: JsonResponse;
    let again: JsonResponse;
    let pendingAfterAccept: JsonResponse;
    let adminAccepted: JsonResponse;

    /** Someone else tries the member's link, the member accepts it twice, the admin accepts through the old alias; each test checks one answer. */
    beforeAll(async () => {
      memberMail = await inviteMailTo(member.email);
      memberToken = decodeURIComponent(memberMail.match[1]!);
      const acceptPath = `/api/v1/invites/accept/${encodeURIComponent(memberToken)}/`;
      mismatch = await outsider.call('POST', acceptPath);
      pendingAfterMismatch = await member.call('GET', '/api/v1/invites/mine/');
      accepted = await member.call('POST', acceptPath);
      again = await member.call('POST', acceptPath);
      pendingAfterAccept = await member.call('GET', '/api/v1/invites/mine/');
      const adminToken = decodeURIComponent((await inviteMailTo(admin.email)).match[1]!);
      adminAccepted = await admin.call('POST', `/api/v1/organizations/invite/accept/${encodeURIComponent(adminToken)}`);
    });

    it("mails the invitee a link with the invite's token, naming the organization in the text only", () => {
      expect(memberMail.mail.text).toContain(org.name);
      expect(memberMail.mail.subject).not.toContain(org.name);
      expect(memberToken).toBe(memberInvite.token);
    });

    it('refuses the link to someone else with a problem, and the invite stays pending', () => {
      expect(mismatch.status).toBe(400);
      expect(mismatch.headers.get('content-type')).toMatch(/application\/problem\+json/);
      expect(mismatch.body).toMatchObject({ status: 400, detail: 'Invite email mismatch' });
      expect(pendingAfterMismatch.body.results.map((i: any) => i.id)).toEqual([memberInvite.id]);
    });

    it('lets the addressee join with the role invited', () => {
      expect(accepted.status).toBe(200);
      expect(accepted.body).toEqual({
        detail: 'Invite accepted',
        organization: { id: org.id, name: org.name, created_at: expect.any(String), role: 'member' },
        role: 'member',
      });
    });

    it('refuses the same link a second time, and nothing is pending any more', () => {
      expect(again.status).toBe(400);
      expect(again.body).toMatchObject({ status: 400, detail: 'Invalid invite' });
      expect(pendingAfterAccept.body).toEqual({ results: [], next: null });
    });

    it('accepts through the compatibility alias, with the token from the mail', () => {
      expect(adminAccepted.status).toBe(200);
      expect(adminAccepted.body).toMatchObject({ detail: 'Invite accepted', role: 'admin', organization: { id: org.id, role: 'admin' } });
    });

    it('shows both invites as accepted to the owner', async () => {
      const invites = await owner.call('GET', `/api/v1/invites/?organization=${org.id}`);
      expect(invites.body.results.map((i: any) => [i.id, i.status]).sort()).toEqual(
        [
          [adminInvite.id, 'accepted'],
          [memberInvite.id, 'accepted'],
        ].sort(),
      );
    });
  });

  it('lists all three members with their registered names and roles', async () => {
    const expected = [
      { account: owner, first_name: 'Olive', role: 'owner' },
      { account: admin, first_name: 'Adam', role: 'admin' },
      { account: member, first_name: 'Mia', role: 'member' },
    ].map(({ account, first_name, role }) => ({
      user: { id: account.id, email: account.email, first_name, last_name: 'Test' },
      role,
      joined_at: expect.stringMatching(/Z$/),
    }));
    // Names arrive from identity's events, so they may lag the membership itself.
    await eventually(async () => {
      const members = await member.call('GET', `/api/v1/organizations/${org.id}/members/`);
      expect(members.status).toBe(200);
      expect(members.body.next).toBeNull();
      expect([...members.body.results].sort((a: any, b: any) => a.role.localeCompare(b.role))).toEqual(
        [...expected].sort((a, b) => a.role.localeCompare(b.role)),
      );
      return true;
    }, WAIT);
    expect((await member.call('GET', '/api/v1/organizations/')).body.results).toEqual([
      { id: org.id, name: org.name, created_at: expect.any(String), role: 'member' },
    ]);
  });

  // ---------------------------------------------------------------- 2. projects, tasks and the member's limits

  it('lets the admin create a project and tasks, but refuses task creation to a member', async () => {
    const created = await admin.call('POST', '/api/v1/projects/', { organization: org.id, name: 'Launch', description: 'Everything for launch day' });
    expect(created.status).toBe(201);
    expect(created.body).toEqual({
      id: expect.any(String),
      organization: org.id,
      name: 'Launch',
      description: 'Everything for launch day',
      created_at: expect.stringMatching(/Z$/),
      updated_at: expect.stringMatching(/Z$/),
    });
    project = created.body;

    const create = (body: Record<string, unknown>) => admin.call('POST', '/api/v1/tasks/', { project: project.id, ...body });
    const specs = {
      spec: { title: 'Write spec', description: 'Draft the API contract', assigned_to: member.id, priority: 'high', due_date: '2030-01-10' },
      design: { title: 'Review design', description: 'Look at the SPEC draft', status: 'in_progress', priority: 'low' },
      release: { title: 'Ship release', description: 'Tag and publish', assigned_to: admin.id, status: 'review' },
      docs: { title: 'Update docs', status: 'done', due_date: '2030-02-01' },
    } as const;
    for (const [key, body] of Object.entries(specs) as [keyof typeof specs, Record<string, unknown>][]) {
      const res = await create(body);
      expect({ key, status: res.status }).toEqual({ key, status: 201 });
      expect(res.body).toEqual({
        id: expect.any(String),
        organization: org.id,
        project: project.id,
        title: body.title,
        description: body.description ?? '',
        assigned_to: body.assigned_to ?? null,
        status: body.status ?? 'todo',
        priority: body.priority ?? 'medium',
        due_date: body.due_date ?? null,
        created_by: admin.id,
        created_at: expect.stringMatching(/Z$/),
        updated_at: expect.stringMatching(/Z$/),
        version: expect.any(Number),
      });
      tasks[key] = res.body;
    }

    const before = await listAll(owner, `/api/v1/tasks/?organization=${org.id}`);
    const refused = await member.call('POST', '/api/v1/tasks/', { project: project.id, title: 'Sneaky task' });
    expect(refused.status).toBe(403);
    expect(refused.headers.get('content-type')).toMatch(/application\/problem\+json/);
    const memberProject = await member.call('POST', '/api/v1/projects/', { organization: org.id, name: 'Rogue' });
    expect(memberProject.status).toBe(403);
    expect(await listAll(owner, `/api/v1/tasks/?organization=${org.id}`)).toEqual(before);
    expect((await listAll(owner, `/api/v1/projects/?organization=${org.id}`)).map((p) => p.id)).toEqual([project.id]);
  });

  it("lets the assigned member move their task's status, and nothing else", async () => {
    const moved = await member.call('PATCH', `/api/v1/tasks/${tasks.spec.id}/`, { status: 'in_progress' }, { 'x-request-id': patchRequestId });
    expect(moved.status).toBe(200);
    expect(moved.headers.get('x-request-id')).toBe(patchRequestId);
    expect(moved.body).toMatchObject({ id: tasks.spec.id, status: 'in_progress', assigned_to: member.id, title: 'Write spec' });
    expect(moved.body.version).toBeGreaterThan(tasks.spec.version);
    tasks.spec = moved.body;

    const reassign = await member.call('PATCH', `/api/v1/tasks/${tasks.spec.id}/`, { assigned_to: admin.id });
    expect(reassign.status).toBe(403);
    const mixed = await member.call('PATCH', `/api/v1/tasks/${tasks.spec.id}/`, { status: 'done', assigned_to: null });
    expect(mixed.status).toBe(403);
    const othersTask = await member.call('PATCH', `/api/v1/tasks/${tasks.design.id}/`, { status: 'done' });
    expect(othersTask.status).toBe(403);
    const deleteIt = await member.call('DELETE', `/api/v1/tasks/${tasks.spec.id}/`);
    expect(deleteIt.status).toBe(403);

    // None of the refused requests changed anything.
    expect((await owner.call('GET', `/api/v1/tasks/${tasks.spec.id}`)).body).toEqual(tasks.spec);
    expect((await owner.call('GET', `/api/v1/tasks/${tasks.design.id}`)).body).toEqual(tasks.design);
  });

  it('refuses a stale If-Match with 412 and leaves the task unchanged', async () => {
    const read = await admin.call('GET', `/api/v1/tasks/${tasks.release.id}/`);
    expect(read.status).toBe(200);
    const etag = read.headers.get('etag');
    expect(etag).toMatch(/^(W\/)?"\d+"$/);

    const fresh = await admin.call('PATCH', `/api/v1/tasks/${tasks.release.id}/`, { priority: 'high' }, { 'if-match': etag! });
    expect(fresh.status).toBe(200);
    expect(fresh.body.priority).toBe('high');
    const newEtag = fresh.headers.get('etag');
    expect(newEtag).not.toBe(etag);
    tasks.release = fresh.body;

    const stale = await owner.call('PATCH', `/api/v1/tasks/${tasks.release.id}/`, { title: 'Lost update' }, { 'if-match': etag! });
    expect(stale.status).toBe(412);
    expect(stale.headers.get('content-type')).toMatch(/application\/problem\+json/);
    const staleDelete = await owner.call('DELETE', `/api/v1/tasks/${tasks.release.id}/`, undefined, { 'if-match': etag! });
    expect(staleDelete.status).toBe(412);

    const after = await owner.call('GET', `/api/v1/tasks/${tasks.release.id}/`);
    expect(after.status).toBe(200);
    expect(after.body).toEqual(tasks.release);
    expect(after.headers.get('etag')).toBe(newEtag);
  });

  it('replays a task creation sent twice with one Idempotency-Key and creates a single task', async () => {
    const key = `journey-${Date.now().toString(36)}`;
    const body = { project: project.id, title: 'Idempotent task', priority: 'low' };
    const first = await admin.call('POST', '/api/v1/tasks/', body, { 'idempotency-key': key });
    const second = await admin.call('POST', '/api/v1/tasks/', body, { 'idempotency-key': key });
    expect(first.status).toBe(201);
    expect(second.status).toBe(201);
    expect(second.body).toEqual(first.body);
    tasks.idempotent = first.body;

    const differentBody = await admin.call('POST', '/api/v1/tasks/', { ...body, title: 'Another task' }, { 'idempotency-key': key });
    expect(differentBody.status).toBe(422);

    const all = await listAll(owner, `/api/v1/tasks/?project=${project.id}`);
    expect(all.filter((t) => t.title === 'Idempotent task').map((t) => t.id)).toEqual([first.body.id]);
    expect(all.filter((t) => t.title === 'Another task')).toEqual([]);
    expect(all).toHaveLength(5);
  });

  // ---------------------------------------------------------------- 3. finding tasks

  it('filters tasks by assignee, repeated status and text, and orders them by priority', async () => {
    const all = await listAll(owner, `/api/v1/tasks/?organization=${org.id}&limit=200`);
    expect(all.map((t) => t.id).sort()).toEqual(Object.values(tasks).map((t) => t.id).sort());
    const ids = (list: Task[]) => list.map((t) => t.id).sort();

    // The member's task list comes from a replica of memberships, so allow it to catch up.
    const mine = await eventually(async () => {
      const page = await listAll(member, '/api/v1/tasks/?assigned_to=me');
      expect(ids(page)).toEqual([tasks.spec.id]);
      return page;
    }, WAIT);
    expect(mine[0]).toEqual(tasks.spec);

    const unassigned = await listAll(owner, `/api/v1/tasks/?organization=${org.id}&assigned_to=none`);
    expect(ids(unassigned)).toEqual(ids(all.filter((t) => t.assigned_to === null)));

    const byStatus = await listAll(member, `/api/v1/tasks/?organization=${org.id}&status=todo&status=in_progress`);
    const expectedByStatus = all.filter((t) => t.status === 'todo' || t.status === 'in_progress');
    expect(expectedByStatus.length).toBeGreaterThan(1);
    expect(expectedByStatus.length).toBeLessThan(all.length);
    expect(ids(byStatus)).toEqual(ids(expectedByStatus));

    const byText = await listAll(member, `/api/v1/tasks/?organization=${org.id}&q=sPeC`);
    expect(ids(byText)).toEqual([tasks.spec.id, tasks.design.id].sort()); // title of one, description of the other

    const combined = await listAll(member, `/api/v1/tasks/?organization=${org.id}&q=spec&status=in_progress&assigned_to=me`);
    expect(ids(combined)).toEqual([tasks.spec.id]);

    const byPriority = await listAll(owner, `/api/v1/tasks/?organization=${org.id}&ordering=-priority`);
    expect(ids(byPriority)).toEqual(ids(all));
    const ranks = byPriority.map((t) => PRIORITY_RANK[t.priority]!);
    expect(ranks).toEqual([...ranks].sort((a, b) => b - a));
    expect(ranks[0]).toBe(3);
    expect(ranks[ranks.length - 1]).toBe(1);
  });

  it('pages through every task exactly once with limit=2, advertising each next page in Link', async () => {
    const seen: string[] = [];
    let pages = 0;
    for (let next: string | null = `/api/v1/tasks/?organization=${org.id}&limit=2`; next; ) {
      const page: { status: number; headers: Headers; body: any } = await member.call('GET', next);
      expect(page.status).toBe(200);
      expect(page.body.results.length).toBeLessThanOrEqual(2);
      pages += 1;
      if (page.body.next) {
        expect(page.body.results).toHaveLength(2);
        expect(page.headers.get('link')).toBe(`<${page.body.next}>; rel="next"`);
      } else {
        expect(page.headers.get('link')).toBeNull();
      }
      seen.push(...page.body.results.map((t: Task) => t.id));
      next = page.body.next;
      expect(pages).toBeLessThan(10);
    }
    expect(pages).toBe(3);
    expect(seen).toHaveLength(new Set(seen).size);
    expect([...seen].sort()).toEqual(Object.values(tasks).map((t) => t.id).sort());
  });

  // ---------------------------------------------------------------- 4. the activity log

  it('records every step once in the activity log, newest first, with the request id that caused it', async () => {
    const key = (e: any) => `${e.verb} ${e.target.type}:${e.target.id}`;
    const expected = [
      `organization.created organization:${org.id}`,
      `membership.added member:${owner.id}`,
      `invite.sent invite:${adminInvite.id}`,
      `invite.sent invite:${memberInvite.id}`,
      `invite.accepted invite:${adminInvite.id}`,
      `invite.accepted invite:${memberInvite.id}`,
      `membership.added member:${admin.id}`,
      `membership.added member:${member.id}`,
      `project.created project:${project.id}`,
      ...Object.values(tasks).map((t) => `task.created task:${t.id}`),
      `task.updated task:${tasks.spec.id}`,
      `task.updated task:${tasks.release.id}`,
    ];
    const entries = await eventually(async () => {
      const all = await activityOf(owner);
      const keys = all.map(key);
      expect(expected.filter((k) => !keys.includes(k))).toEqual([]);
      return all;
    }, WAIT);

    // Exactly once each, and nothing else happened in this organization.
    expect(entries.map(key).sort()).toEqual([...expected].sort());
    const times = entries.map((e) => Date.parse(e.created_at));
    expect(times).toEqual([...times].sort((a, b) => b - a));

    const find = (k: string) => entries.find((e) => key(e) === k)!;
    expect(find(`organization.created organization:${org.id}`)).toMatchObject({
      organization: org.id,
      actor: owner.id,
      actor_email: owner.email,
      action: 'Created organization',
    });
    expect(find(`project.created project:${project.id}`)).toMatchObject({ actor: admin.id, action: "Created project 'Launch'" });
    expect(find(`task.created task:${tasks.spec.id}`)).toMatchObject({ actor: admin.id, action: "Created task 'Write spec'" });
    expect(find(`invite.accepted invite:${memberInvite.id}`)).toMatchObject({ actor: member.id, action: 'Accepted organization invite' });
    const statusChange = find(`task.updated task:${tasks.spec.id}`);
    expect(statusChange).toMatchObject({
      actor: member.id,
      actor_email: member.email,
      action: "Updated task 'Write spec'",
      changes: { status: ['todo', 'in_progress'] },
      request_id: patchRequestId,
    });
    expect(Object.keys(statusChange.changes)).toEqual(['status']);
    expect(find(`task.updated task:${tasks.release.id}`).changes).toEqual({ priority: ['medium', 'high'] });
    for (const e of entries) expect(e).toEqual(expect.objectContaining({ id: expect.any(String), created_at: expect.stringMatching(/Z$/), request_id: expect.any(String) }));
  });

  it("shows invitee email addresses to owners and admins but not to members", async () => {
    const adminView = await listAll(admin, `/api/v1/activity/?organization=${org.id}&verb=invite.sent`);
    expect(adminView).toHaveLength(2);
    const adminSees = adminView.find((e) => e.target.id === memberInvite.id)!;
    expect(adminSees.action).toBe(`Invited ${memberInvite.email} to organization`);
    expect(adminSees.changes).toEqual({ email: [null, memberInvite.email], role: [null, 'member'] });

    const memberView = await listAll(member, `/api/v1/activity/?organization=${org.id}&verb=invite.sent`);
    expect(memberView.map((e) => e.id).sort()).toEqual(adminView.map((e) => e.id).sort());
    for (const e of memberView) {
      expect(e.action).toBe('Invited someone to organization');
      expect(e.changes.email).toBeUndefined();
    }
    const seenByMember = JSON.stringify(memberView).toLowerCase();
    expect(seenByMember).not.toContain(member.email.toLowerCase());
    expect(seenByMember).not.toContain(admin.email.toLowerCase());
  });

  // ---------------------------------------------------------------- 5. tenant isolation

  describe("an outsider with an organization of their own", () => {
    const snapshot = async () => ({
      org: (await owner.call('GET', `/api/v1/organizations/${org.id}`)).body,
      members: (await owner.call('GET', `/api/v1/organizations/${org.id}/members`)).body,
      projects: await listAll(owner, `/api/v1/projects/?organization=${org.id}`),
      tasks: await listAll(owner, `/api/v1/tasks/?organization=${org.id}`),
      invites: (await owner.call('GET', `/api/v1/invites/?organization=${org.id}`)).body,
    });
    let before: Awaited<ReturnType<typeof snapshot>>;
    let own: JsonResponse;
    let ownTask: JsonResponse;
    const hidden: Array<{ method: string; url: string; status: number; contentType: string | null }> = [];
    let intoTheirProject: JsonResponse;
    let moveAcross: JsonResponse;
    let assignTheirMember: JsonResponse;
    let inviteThere: JsonResponse;

    /** The outsider sets up their own organization, then tries every way into this one; each test checks one answer. */
    beforeAll(async () => {
      before = await snapshot();
      own = await outsider.call('POST', '/api/v1/organizations/', { name: 'Elsewhere Inc' });
      expect(own.status).toBe(201);
      const ownProject = await outsider.call('POST', '/api/v1/projects/', { organization: own.body.id, name: 'Private' });
      expect(ownProject.status).toBe(201);
      ownTask = await outsider.call('POST', '/api/v1/tasks/', { project: ownProject.body.id, title: 'Private task' });
      expect(ownTask.status).toBe(201);

      const attempts: [string, string, unknown?][] = [
        ['GET', `/api/v1/organizations/${org.id}/`],
        ['PATCH', `/api/v1/organizations/${org.id}/`, { name: 'Taken over' }],
        ['DELETE', `/api/v1/organizations/${org.id}/`],
        ['GET', `/api/v1/organizations/${org.id}/members/`],
        ['DELETE', `/api/v1/organizations/${org.id}/members/${member.id}/`],
        ['GET', `/api/v1/projects/${project.id}/`],
        ['PATCH', `/api/v1/projects/${project.id}/`, { name: 'Mine now' }],
        ['GET', `/api/v1/projects/?organization=${org.id}`],
        ['GET', `/api/v1/tasks/${tasks.spec.id}/`],
        ['PATCH', `/api/v1/tasks/${tasks.spec.id}/`, { status: 'done' }],
        ['DELETE', `/api/v1/tasks/${tasks.spec.id}/`],
        ['GET', `/api/v1/tasks/?organization=${org.id}`],
        ['GET', `/api/v1/activity/?organization=${org.id}`],
        ['GET', `/api/v1/invites/?organization=${org.id}`],
        ['GET', '/api/v1/tasks/not-a-uuid/'],
      ];
      for (const [method, url, body] of attempts) {
        const res = await outsider.call(method, url, body);
        hidden.push({ method, url, status: res.status, contentType: res.headers.get('content-type') });
      }
      intoTheirProject = await outsider.call('POST', '/api/v1/tasks/', { project: project.id, title: 'Planted task' });
      moveAcross = await outsider.call('PATCH', `/api/v1/tasks/${ownTask.body.id}/`, { project: project.id });
      assignTheirMember = await outsider.call('POST', '/api/v1/tasks/', { project: ownProject.body.id, title: 'Poach', assigned_to: member.id });
      inviteThere = await outsider.call('POST', '/api/v1/invites/', { organization: org.id, email: 'friend@example.com' });
    });

    it("answers 404 problem+json to every read and write of this organization's resources", () => {
      expect(hidden).toHaveLength(15);
      for (const { method, url, status, contentType } of hidden) {
        expect({ method, url, status }).toEqual({ method, url, status: 404 });
        expect(contentType).toMatch(/application\/problem\+json/);
      }
    });

    it("refuses a task planted in this organization's project as an unknown project", () => {
      expect(intoTheirProject.status).toBe(400);
      expect(intoTheirProject.body.errors.project).toBeDefined();
    });

    it("refuses to move the outsider's own task into this organization's project", () => {
      expect(moveAcross.status).toBe(400);
    });

    it("refuses to assign this organization's member to the outsider's task", () => {
      expect(assignTheirMember.status).toBe(400);
      expect(assignTheirMember.body.errors.assigned_to).toBeDefined();
    });

    it('refuses an invite into this organization with a client error', () => {
      expect(inviteThere.status).toBeGreaterThanOrEqual(400);
      expect(inviteThere.status).toBeLessThan(500);
    });

    it("lists the outsider's own organization and task only, nothing that mentions this organization", async () => {
      const orgs = await listAll(outsider, '/api/v1/organizations/');
      expect(orgs.map((o) => o.id)).toEqual([own.body.id]);
      const leaks = [
        ...(await listAll(outsider, '/api/v1/projects/')),
        ...(await listAll(outsider, '/api/v1/tasks/')),
        ...(await listAll(outsider, '/api/v1/activity/')),
        ...(await listAll(outsider, '/api/v1/invites/mine/')),
      ].filter((item) => JSON.stringify(item).includes(org.id));
      expect(leaks).toEqual([]);
      expect((await listAll(outsider, '/api/v1/tasks/')).map((t) => t.id)).toEqual([ownTask.body.id]);
    });

    it('leaves this organization exactly as it was', async () => {
      expect(await snapshot()).toEqual(before);
    });
  });

  // ---------------------------------------------------------------- 6. removing a member

  describe('removing a member', () => {
    const removalRequestId = `journey-removal-${Date.now().toString(36)}`;
    let removedStatus: number;

    beforeAll(async () => {
      removedStatus = (await owner.call('DELETE', `/api/v1/organizations/${org.id}/members/${member.id}/`, undefined, { 'x-request-id': removalRequestId })).status;
    });

    it("answers 204 to the owner's removal", () => {
      expect(removedStatus).toBe(204);
    });

    it('takes the organization from the removed member at once', async () => {
      expect((await member.call('GET', `/api/v1/organizations/${org.id}/`)).status).toBe(404);
      expect((await member.call('GET', '/api/v1/organizations/')).body.results).toEqual([]);
    });

    it('lists only the owner and the admin as members', async () => {
      const members = await owner.call('GET', `/api/v1/organizations/${org.id}/members/`);
      expect(members.body.results.map((m: any) => m.user.id).sort()).toEqual([owner.id, admin.id].sort());
    });

    it("takes the organization's tasks and activity from them once work and audit hear of it", async () => {
      await eventually(async () => {
        expect((await member.call('GET', `/api/v1/tasks/${tasks.spec.id}/`)).status).toBe(404);
        expect((await member.call('GET', `/api/v1/activity/?organization=${org.id}`)).status).toBe(404);
        return true;
      }, WAIT);
      expect(await listAll(member, '/api/v1/tasks/')).toEqual([]);
    });

    it('unassigns their task and leaves the rest of it as it was', async () => {
      await eventually(async () => {
        const task = await owner.call('GET', `/api/v1/tasks/${tasks.spec.id}/`);
        expect(task.body.assigned_to).toBeNull();
        return true;
      }, WAIT);
      expect((await owner.call('GET', `/api/v1/tasks/${tasks.spec.id}/`)).body).toMatchObject({ status: 'in_progress', title: 'Write spec' });
    });

    it('logs the removal with the request id that caused it', async () => {
      const removal = await eventually(async () => {
        const entries = await activityOf(owner, '&verb=membership.removed');
        expect(entries).toHaveLength(1);
        return entries[0];
      }, WAIT);
      expect(removal).toMatchObject({
        actor: owner.id,
        target: { type: 'member', id: member.id },
        action: `Removed ${member.email} from organization`,
        changes: { role: ['member', null] },
        request_id: removalRequestId,
      });
    });

    it('logs the unassignment as a task change of its own, traced to the same request', async () => {
      const unassigned = await eventually(async () => {
        const entries = (await activityOf(owner, `&verb=task.updated&target_id=${tasks.spec.id}`)).filter((e) => 'assigned_to' in e.changes);
        expect(entries).toHaveLength(1);
        return entries[0];
      }, WAIT);
      expect(unassigned).toMatchObject({ changes: { assigned_to: [member.id, null] }, request_id: removalRequestId });
    });
  });

  // ---------------------------------------------------------------- 7. role rules and deleting the organization

  it('keeps admins below owners and never lets the last owner leave', async () => {
    const ownerInvite = await admin.call('POST', '/api/v1/invites/', { organization: org.id, email: 'new.boss@example.com', role: 'owner' });
    expect(ownerInvite.status).toBe(403);
    const promote = await admin.call('PATCH', `/api/v1/organizations/${org.id}/members/${owner.id}/`, { role: 'member' });
    expect(promote.status).toBe(403);
    const promoteSelf = await admin.call('PATCH', `/api/v1/organizations/${org.id}/members/${admin.id}/`, { role: 'owner' });
    expect(promoteSelf.status).toBe(403);
    const removeOwner = await admin.call('DELETE', `/api/v1/organizations/${org.id}/members/${owner.id}/`);
    expect(removeOwner.status).toBe(403);
    const adminDeletes = await admin.call('DELETE', `/api/v1/organizations/${org.id}/`);
    expect(adminDeletes.status).toBe(403);

    const leave = await owner.call('DELETE', `/api/v1/organizations/${org.id}/members/${owner.id}/`);
    expect(leave.status).toBe(409);
    expect(leave.headers.get('content-type')).toMatch(/application\/problem\+json/);
    const demote = await owner.call('PATCH', `/api/v1/organizations/${org.id}/members/${owner.id}/`, { role: 'admin' });
    expect(demote.status).toBe(409);

    const members = await owner.call('GET', `/api/v1/organizations/${org.id}/members/`);
    expect(members.body.results.map((m: any) => [m.user.id, m.role]).sort()).toEqual(
      [
        [owner.id, 'owner'],
        [admin.id, 'admin'],
      ].sort(),
    );
    const pending = await owner.call('GET', `/api/v1/invites/?organization=${org.id}&status=pending`);
    expect(pending.body.results).toEqual([]);
  });

  it('replaces a pending invite on re-invite, so only the newest mailed token works', async () => {
    const alreadyMember = await admin.call('POST', '/api/v1/invites/', { organization: org.id, email: owner.email.toUpperCase() });
    expect(alreadyMember.status).toBe(400);
    expect(alreadyMember.body).toMatchObject({ detail: 'User already in organization' });

    const first = await admin.call('POST', '/api/v1/organizations/invite/', { organization: org.id, email: member.email });
    const second = await admin.call('POST', '/api/v1/invites/', { organization: org.id, email: member.email });
    expect([first.status, second.status]).toEqual([201, 201]);
    expect(second.body.token).not.toBe(first.body.token);
    const mine = await member.call('GET', '/api/v1/invites/mine/');
    expect(mine.body.results.map((i: any) => i.id)).toEqual([second.body.id]);

    const stale = await member.call('POST', `/api/v1/invites/accept/${encodeURIComponent(first.body.token)}/`);
    expect(stale.status).toBe(400);
    expect(stale.body).toMatchObject({ detail: 'Invalid invite' });
    const statuses = await owner.call('GET', `/api/v1/invites/?organization=${org.id}&status=revoked`);
    expect(statuses.body.results.map((i: any) => i.id)).toEqual([first.body.id]);

    const rejoined = await member.call('POST', `/api/v1/invites/accept/${encodeURIComponent(second.body.token)}/`);
    expect(rejoined.status).toBe(200);
    expect(rejoined.body).toMatchObject({ detail: 'Invite accepted', role: 'member', organization: { id: org.id } });
    // Rejoining does not give back the task that was unassigned on removal.
    expect((await owner.call('GET', `/api/v1/tasks/${tasks.spec.id}/`)).body.assigned_to).toBeNull();
  });

  it("deletes the organization for everyone, with its projects and tasks", async () => {
    const deleted = await owner.call('DELETE', `/api/v1/organizations/${org.id}/`);
    expect(deleted.status).toBe(204);

    for (const account of [owner, admin, member]) {
      expect((await account.call('GET', `/api/v1/organizations/${org.id}/`)).status).toBe(404);
      expect((await listAll(account, '/api/v1/organizations/')).map((o) => o.id)).not.toContain(org.id);
    }
    await eventually(async () => {
      for (const account of [owner, admin, member]) {
        expect((await account.call('GET', `/api/v1/projects/${project.id}/`)).status).toBe(404);
        for (const task of Object.values(tasks)) expect((await account.call('GET', `/api/v1/tasks/${task.id}/`)).status).toBe(404);
        expect((await listAll(account, '/api/v1/tasks/')).filter((t) => t.organization === org.id)).toEqual([]);
        expect((await listAll(account, '/api/v1/projects/')).filter((p) => p.organization === org.id)).toEqual([]);
      }
      return true;
    }, WAIT);
  });

  it("leaves another organization's tasks untouched when one organization is deleted", async () => {
    expect((await listAll(outsider, '/api/v1/tasks/')).map((t) => t.title)).toEqual(['Private task']);
  });

  // ---------------------------------------------------------------- 8. operations

  describe('operations', () => {
    it('answers /healthz', async () => {
      expect((await request(system.url, 'GET', '/healthz')).status).toBe(200);
    });

    it('reports every upstream ready on /readyz', async () => {
      const ready = await request(system.url, 'GET', '/readyz');
      expect(ready.status).toBe(200);
      expect(ready.body).toMatchObject({ status: 'ok', checks: { audit: 'ok', identity: 'ok', tenancy: 'ok', webhooks: 'ok', work: 'ok' } });
      expect(Object.keys(ready.body.checks).sort()).toEqual(['audit', 'identity', 'tenancy', 'webhooks', 'work']);
    });

    it("serves one OpenAPI 3.1 document merging every service's paths", async () => {
      const spec = await request(system.url, 'GET', '/api/v1/openapi.json');
      expect(spec.status).toBe(200);
      expect(spec.body.openapi).toMatch(/^3\.1\./);
      for (const p of ['/api/v1/auth/login/', '/api/v1/organizations/', '/api/v1/invites/accept/{token}/', '/api/v1/tasks/{id}/', '/api/v1/projects/', '/api/v1/activity/', '/api/v1/webhooks/']) {
        expect({ path: p, present: p in spec.body.paths }).toEqual({ path: p, present: true });
      }
      expect(Object.keys(spec.body.webhooks)).toEqual(expect.arrayContaining(['task.created', 'webhook.ping']));
    });

    it('serves the HTML API reference at /api/docs', async () => {
      const docs = await request(system.url, 'GET', '/api/docs');
      expect(docs.status).toBe(200);
      expect(docs.headers.get('content-type')).toMatch(/text\/html/);
      expect(String(docs.body)).toMatch(/<html/i);
    });
  });
});
