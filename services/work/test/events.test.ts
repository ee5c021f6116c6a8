// Tenancy's events (membership changes, organization deletion) and what work does with them.
import { eventually } from '@taskflow/shared/testing';
import { type Harness, seedProject, seedTask, startHarness } from './harness';

describe('membership and organization events', () => {
  let h: Harness;

  beforeAll(async () => {
    h = await startHarness();
  });
  afterAll(() => h.close());

  it('makes a new member’s access work as soon as the membership event is applied', async () => {
    const org = await h.organization();
    const project = await seedProject(h, org.admin, org.id);
    const newcomer = h.user('newcomer');
    expect((await h.call('GET', `/api/v1/projects/${project.id}`, newcomer)).status).toBe(404);
    await h.join(org.id, newcomer, 'member');
    expect((await h.call('GET', `/api/v1/projects/${project.id}`, newcomer)).status).toBe(200);
    expect((await h.call('POST', '/api/v1/tasks/', newcomer, { body: { project: project.id, title: 'x' } })).status).toBe(403);
    await h.changeRole(org.id, newcomer, 'admin');
    expect((await h.call('POST', '/api/v1/tasks/', newcomer, { body: { project: project.id, title: 'x' } })).status).toBe(201);
  });

  describe('when a member is removed', () => {
    let org: Awaited<ReturnType<Harness['organization']>>;
    let theirs: Array<{ id: string }>;
    let someoneElses: { id: string };
    let keptElsewhere: { id: string };

    /** The member has two tasks here, one in another organization, and a colleague has one here; then tenancy removes them. */
    beforeAll(async () => {
      org = await h.organization();
      const elsewhere = await h.organization();
      await h.join(elsewhere.id, org.member, 'member');
      const project = await seedProject(h, org.admin, org.id);
      const otherProject = await seedProject(h, elsewhere.admin, elsewhere.id);
      theirs = [await seedTask(h, org.admin, project.id, { assigned_to: org.member.id, title: 'One' }), await seedTask(h, org.admin, project.id, { assigned_to: org.member.id, title: 'Two' })];
      someoneElses = await seedTask(h, org.admin, project.id, { assigned_to: org.otherMember.id });
      keptElsewhere = await seedTask(h, elsewhere.admin, otherProject.id, { assigned_to: org.member.id });
      await h.remove(org.id, org.member);
    });

    it('refuses them the organization’s tasks', async () => {
      expect((await h.call('GET', `/api/v1/tasks/${theirs[0]!.id}`, org.member)).status).toBe(404);
      expect((await h.call('GET', `/api/v1/tasks/?organization=${org.id}`, org.member)).status).toBe(404);
      const visible = await h.call('GET', '/api/v1/tasks/?limit=200', org.member);
      expect(visible.body.results.map((t: { organization: string }) => t.organization)).not.toContain(org.id);
    });

    it('unassigns each of their tasks there, as a new version', async () => {
      for (const task of theirs) {
        const row = await h.db('tasks').where({ id: task.id }).first();
        expect(row).toMatchObject({ assigned_to: null, version: 2 });
      }
    });

    it('leaves the tasks of the other members assigned', async () => {
      expect((await h.db('tasks').where({ id: someoneElses.id }).first()).assigned_to).toBe(org.otherMember.id);
    });

    it('leaves their tasks in another organization assigned to them', async () => {
      expect((await h.db('tasks').where({ id: keptElsewhere.id }).first()).assigned_to).toBe(org.member.id);
    });

    it('publishes a task.updated per unassigned task', async () => {
      const updates = await eventually(() => {
        const found = h.eventsOf('work.task.updated', (e) => theirs.some((t) => t.id === e.data.task.id));
        return found.length === 2 && found;
      });
      for (const event of updates) {
        expect(event.organization_id).toBe(org.id);
        expect(event.data.changes).toEqual({ assigned_to: [org.member.id, null] });
      }
    });

    it('refuses to assign them a task there again', async () => {
      const reassign = await h.call('PATCH', `/api/v1/tasks/${theirs[0]!.id}`, org.admin, { body: { assigned_to: org.member.id } });
      expect(reassign.status).toBe(400);
    });
  });

  it('ignores a stale removal that arrives after the member rejoined', async () => {
    const org = await h.organization();
    const project = await seedProject(h, org.admin, org.id);
    const returning = h.user('returning');
    await h.join(org.id, returning, 'member');
    const task = await seedTask(h, org.admin, project.id, { assigned_to: returning.id });
    // Version 1 removal arrives after version 2 (still a member): nothing happens.
    await h.join(org.id, returning, 'member');
    const messageId = await h.publish('tenancy.membership.removed', org.id, {
      organization_id: org.id,
      user: { id: returning.id, email: returning.email, first_name: 'R', last_name: 'R' },
      role: 'member',
      version: 1,
      reason: 'left',
    });
    await eventually(async () => Boolean(await h.db('processed_messages').where({ message_id: messageId }).first()));
    expect((await h.db('tasks').where({ id: task.id }).first()).assigned_to).toBe(returning.id);
    expect((await h.call('GET', `/api/v1/tasks/${task.id}`, returning)).status).toBe(200);
  });

  it('applies a redelivered removal once', async () => {
    const org = await h.organization();
    const project = await seedProject(h, org.admin, org.id);
    const task = await seedTask(h, org.admin, project.id, { assigned_to: org.otherMember.id });
    const data = { organization_id: org.id, user: { id: org.otherMember.id, email: org.otherMember.email, first_name: 'O', last_name: 'O' }, role: 'member' as const, version: 50, reason: 'removed' as const };
    const id = await h.publish('tenancy.membership.removed', org.id, data, org.owner);
    await h.publish('tenancy.membership.removed', org.id, data, org.owner, id);
    await eventually(async () => Boolean(await h.db('processed_messages').where({ message_id: id }).first()));
    const updates = await eventually(() => {
      const found = h.eventsOf('work.task.updated', (e) => e.data.task.id === task.id);
      return found.length === 1 && found;
    });
    expect(updates[0]!.actor_id).toBe(org.owner.id);
    expect((await h.db('tasks').where({ id: task.id }).first()).version).toBe(2);
  });

  it('deletes an organization’s projects and tasks when the organization is deleted, publishing every deletion', async () => {
    const doomed = await h.organization();
    const survivor = await h.organization();
    const projects = [await seedProject(h, doomed.admin, doomed.id, 'A'), await seedProject(h, doomed.admin, doomed.id, 'B')];
    const tasks = [await seedTask(h, doomed.admin, projects[0]!.id), await seedTask(h, doomed.admin, projects[1]!.id), await seedTask(h, doomed.admin, projects[1]!.id)];
    const safeProject = await seedProject(h, survivor.admin, survivor.id);
    const safeTask = await seedTask(h, survivor.admin, safeProject.id);

    await h.publish('tenancy.organization.deleted', doomed.id, { organization: { id: doomed.id, name: 'Doomed' } }, doomed.owner);

    await eventually(async () => (await h.db('projects').where({ organization_id: doomed.id })).length === 0);
    expect(await h.db('tasks').where({ organization_id: doomed.id })).toEqual([]);
    expect(await h.db('tasks').where({ id: safeTask.id }).first()).toBeDefined();
    expect(await h.db('projects').where({ id: safeProject.id }).first()).toBeDefined();
    await eventually(
      () =>
        h.eventsOf('work.project.deleted', (e) => e.organization_id === doomed.id).length === 2 &&
        h.eventsOf('work.task.deleted', (e) => e.organization_id === doomed.id).length === 3,
    );
    expect(h.eventsOf('work.task.deleted', (e) => e.organization_id === doomed.id).map((e) => e.data.task.id).sort()).toEqual(tasks.map((t) => t.id).sort());
    expect(h.eventsOf('work.project.deleted', (e) => e.organization_id === doomed.id).every((e) => e.actor_id === doomed.owner.id)).toBe(true);
  });

  it('publishes envelopes exactly as declared: type, organization, actor, request id and payload', async () => {
    const org = await h.organization();
    const project = await seedProject(h, org.admin, org.id, 'Envelope');
    const res = await h.call('POST', '/api/v1/tasks/', org.owner, { body: { project: project.id, title: 'Enveloped' }, headers: { 'x-request-id': 'req-envelope-1' } });
    const [event] = await eventually(() => {
      const found = h.eventsOf('work.task.created', (e) => e.data.task.id === res.body.id);
      return found.length === 1 && found;
    });
    expect(event).toEqual({
      id: expect.any(String),
      type: 'work.task.created',
      version: 1,
      occurred_at: expect.stringMatching(/Z$/),
      organization_id: org.id,
      actor_id: org.owner.id,
      actor_email: org.owner.email,
      request_id: 'req-envelope-1',
      data: { task: { id: res.body.id, project_id: project.id, title: 'Enveloped', assigned_to: null } },
    });
  });

  it('fails closed with 503 when the replica misses and tenancy cannot answer, and answers 404 when tenancy says no', async () => {
    const org = await h.organization();
    const project = await seedProject(h, org.admin, org.id);
    const unknown = h.user('unknown');
    expect((await h.call('GET', `/api/v1/projects/${project.id}`, unknown)).status).toBe(404);
    h.tenancyAnswers = false;
    try {
      // A user tenancy was not asked about yet (the refusal of `unknown` is remembered, still a 404).
      expect((await h.call('GET', `/api/v1/projects/${project.id}`, unknown)).status).toBe(404);
      const res = await h.call('GET', `/api/v1/projects/${project.id}`, h.user('unseen'));
      expect(res.status).toBe(503);
      expect(res.headers.get('retry-after')).toBeTruthy();
      // Known members keep working from the replica.
      expect((await h.call('GET', `/api/v1/projects/${project.id}`, org.member)).status).toBe(200);
    } finally {
      h.tenancyAnswers = true;
    }
  });
});
