// Probing another organization's objects: the answer is the 404 of a missing object, tenancy is asked at
// most once per user and organization within the refusal TTL (so the probe costs what a miss costs), and a
// membership that arrives afterwards is usable as soon as its event is stored.
import { randomUUID } from 'node:crypto';
import { type Harness, seedProject, seedTask, startHarness } from './harness';

describe('probes of another organization', () => {
  let h: Harness;
  let org: Awaited<ReturnType<Harness['organization']>>;
  let project: { id: string };
  let task: { id: string };

  beforeAll(async () => {
    h = await startHarness();
    org = await h.organization();
    project = await seedProject(h, org.admin, org.id, 'Secret');
    task = await seedTask(h, org.admin, project.id, { title: 'Secret task' });
  });
  afterAll(() => h.close());

  it("asks tenancy once for repeated probes of another organization's task and project, none for a missing id", async () => {
    const outsider = h.user('outsider');
    const before = h.tenancyCalls.length;
    for (const path of [`/api/v1/tasks/${task.id}/`, `/api/v1/projects/${project.id}/`, `/api/v1/tasks/${task.id}/`, `/api/v1/projects/${project.id}/`]) {
      const res = await h.call('GET', path, outsider);
      expect(res.status).toBe(404);
      expect(res.body.code).toBe('not_found');
    }
    expect(h.tenancyCalls.length - before).toBe(1);
    const missing = await h.call('GET', `/api/v1/tasks/${randomUUID()}/`, outsider);
    expect(missing.status).toBe(404);
    expect(missing.body).toEqual((await h.call('GET', `/api/v1/tasks/${task.id}/`, outsider)).body);
    expect(h.tenancyCalls.length - before).toBe(1);
  });

  it('lets a user refused a moment ago in once the membership event of their join is stored', async () => {
    const joiner = h.user('joiner');
    expect((await h.call('GET', `/api/v1/tasks/${task.id}/`, joiner)).status).toBe(404);
    // Tenancy knows of the join before its event reaches work: the remembered refusal still answers...
    h.joinOnlyInTenancy(org.id, joiner, 'member');
    expect((await h.call('GET', `/api/v1/tasks/${task.id}/`, joiner)).status).toBe(404);
    // ...until the event lands in the replica, which wins over the refusal at once.
    await h.join(org.id, joiner, 'member');
    const res = await h.call('GET', `/api/v1/tasks/${task.id}/`, joiner);
    expect(res.status).toBe(200);
    expect(res.body.id).toBe(task.id);
  });

  it('lets a user never refused use a membership known only to tenancy at once', async () => {
    const newcomer = h.user('newcomer');
    h.joinOnlyInTenancy(org.id, newcomer, 'member');
    const res = await h.call('GET', `/api/v1/projects/?organization=${org.id}`, newcomer);
    expect(res.status).toBe(200);
    expect(res.body.results.map((p: { id: string }) => p.id)).toContain(project.id);
  });
});
