// If-Match on every write of a task or a project, as RFC 9110 and API.md say: strong comparison, lists,
// `*`, weak tags never match, and a malformed value is 400 invalid_if_match (never a 412), changing nothing.
import { type Harness, seedProject, seedTask, snapshot, startHarness } from './harness';

type Kind = 'tasks' | 'projects';
type Method = 'PATCH' | 'PUT' | 'DELETE';

describe('If-Match on tasks and projects', () => {
  let h: Harness;
  let org: Awaited<ReturnType<Harness['organization']>>;
  let project: { id: string };

  beforeAll(async () => {
    h = await startHarness();
    org = await h.organization();
    project = await seedProject(h, org.admin, org.id, 'Home');
  });
  afterAll(() => h.close());

  /** A fresh resource at version 2 (created, then changed once), so `"02"` and `"2"` differ only in form. */
  async function atVersion2(kind: Kind): Promise<string> {
    const created = kind === 'tasks' ? await seedTask(h, org.admin, project.id) : await seedProject(h, org.admin, org.id, 'Guarded');
    const changed = await h.call('PATCH', `/api/v1/${kind}/${created.id}/`, org.admin, { body: kind === 'tasks' ? { title: 'Second' } : { name: 'Second' } });
    expect(changed.headers.get('etag')).toBe('"2"');
    return created.id;
  }

  const bodyOf = (kind: Kind, method: Method) =>
    method === 'DELETE'
      ? undefined
      : kind === 'tasks'
        ? method === 'PUT'
          ? { project: project.id, title: 'Third', description: '', assigned_to: null, status: 'todo', priority: 'low', due_date: null }
          : { title: 'Third' }
        : method === 'PUT'
          ? { name: 'Third', description: '' }
          : { name: 'Third' };

  const send = (kind: Kind, method: Method, id: string, ifMatch: string) =>
    h.call(method, `/api/v1/${kind}/${id}/`, org.admin, { body: bodyOf(kind, method), headers: { 'if-match': ifMatch } });

  const cells = (['tasks', 'projects'] as const).flatMap((kind) => (['PATCH', 'PUT', 'DELETE'] as const).map((method) => [kind, method] as const));

  describe.each(cells)('%s %s', (kind, method) => {
    const success = method === 'DELETE' ? 204 : 200;

    it.each(['W/"2"', '"02"', '"3"', 'W/"2", "1"'])('refuses %p with 412 and changes nothing', async (ifMatch) => {
      const id = await atVersion2(kind);
      const before = await snapshot(h);
      const res = await send(kind, method, id, ifMatch);
      expect(res.status).toBe(412);
      expect(res.body.code).toBe('precondition_failed');
      expect(await snapshot(h)).toEqual(before);
    });

    it.each(['2', 'nonsense', '"2', 'w/"2"', '"1" "2"', '*, "2"'])('refuses the malformed %p with 400 invalid_if_match and changes nothing', async (ifMatch) => {
      const id = await atVersion2(kind);
      const before = await snapshot(h);
      const res = await send(kind, method, id, ifMatch);
      expect(res.status).toBe(400);
      expect(res.body.code).toBe('invalid_if_match');
      expect(await snapshot(h)).toEqual(before);
    });

    it.each(['"2"', '"1", "2"', 'W/"2", "2"', '*'])('applies the write for %p', async (ifMatch) => {
      const id = await atVersion2(kind);
      const res = await send(kind, method, id, ifMatch);
      expect(res.status).toBe(success);
      const row = await h.db(kind).where({ id }).first();
      if (method === 'DELETE') expect(row).toBeUndefined();
      else expect(row).toMatchObject({ version: 3, [kind === 'tasks' ? 'title' : 'name']: 'Third' });
    });
  });
});
