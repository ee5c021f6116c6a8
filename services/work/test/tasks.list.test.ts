import { randomUUID } from 'node:crypto';
import { encodeCursor, organizationsOfUser } from '@taskflow/shared';
import { oneOrganization } from '@taskflow/shared/testing';
import { type TaskOrdering, type TaskRow, taskPageQuery } from '../src/db/tasks';
import { presentTask } from '../src/http/present';
import { type Harness, seedProject, seedTask, startHarness, type TestUser } from './harness';

type Task = {
  id: string;
  title: string;
  status: string;
  priority: string;
  due_date: string | null;
  assigned_to: string | null;
  project: string;
  organization: string;
  created_at: string;
  updated_at: string;
};

describe('task lists', () => {
  let h: Harness;

  beforeAll(async () => {
    h = await startHarness();
  });
  afterAll(() => h.close());

  const ids = (res: { body: { results: Task[] } }) => res.body.results.map((t) => t.id);

  /** Follows `next` to the end, returning every task in order. */
  async function walk(user: TestUser, path: string, onPage: () => Promise<unknown> = async () => undefined): Promise<Task[]> {
    const all: Task[] = [];
    let next: string | null = path;
    while (next) {
      const res: { status: number; body: { results: Task[]; next: string | null } } = await h.call('GET', next, user);
      expect(res.status).toBe(200);
      all.push(...res.body.results);
      next = res.body.next;
      await onPage();
    }
    return all;
  }

  describe('filters', () => {
    let org: Awaited<ReturnType<Harness['organization']>>;
    let second: Awaited<ReturnType<Harness['organization']>>;
    let p1: { id: string };
    let p2: { id: string };
    let foreignTask: Task;
    const t: Record<string, Task> = {};

    beforeAll(async () => {
      org = await h.organization();
      second = await h.organization();
      await h.join(second.id, org.member, 'member');
      p1 = await seedProject(h, org.admin, org.id, 'P1');
      p2 = await seedProject(h, org.admin, org.id, 'P2');
      const sp = await seedProject(h, second.admin, second.id, 'Second');
      t.a = await seedTask(h, org.admin, p1.id, { title: 'Write the SPEC', status: 'todo', priority: 'high', due_date: '2030-01-10', assigned_to: org.member.id });
      t.b = await seedTask(h, org.admin, p1.id, { title: 'Review', description: 'read the spec twice', status: 'review', priority: 'low', due_date: '2030-01-20' });
      t.c = await seedTask(h, org.admin, p2.id, { title: 'Ship 100% of it', status: 'done', priority: 'medium', assigned_to: org.otherMember.id });
      t.d = await seedTask(h, org.admin, p2.id, { title: 'Plan', status: 'in_progress', priority: 'high', due_date: '2030-02-01', assigned_to: org.member.id });
      t.e = await seedTask(h, second.admin, sp.id, { title: 'In the second org', assigned_to: org.member.id, due_date: '2030-01-15' });
      const foreignOrg = await h.organization();
      const foreignOrgProject = await seedProject(h, foreignOrg.admin, foreignOrg.id, 'Stranger');
      foreignTask = await seedTask(h, foreignOrg.admin, foreignOrgProject.id, { title: 'spec of a stranger' });
    });

    const list = (user: TestUser, query: string) => h.call('GET', `/api/v1/tasks/?organization=${org.id}&${query}`, user);
    const set = (...tasks: Task[]) => new Set(tasks.map((x) => x.id));

    it('returns only tasks of the caller’s organizations when no organization is given', async () => {
      const res = await h.call('GET', '/api/v1/tasks', org.member);
      expect(new Set(ids(res))).toEqual(set(t.a!, t.b!, t.c!, t.d!, t.e!));
      expect(ids(res)).not.toContain(foreignTask.id);
    });

    it.each([
      ['status', 'status=review', ['b']],
      ['repeated status', 'status=todo&status=done', ['a', 'c']],
      ['priority', 'priority=high', ['a', 'd']],
      ['assigned_to=me', 'assigned_to=me', ['a', 'd']],
      ['assigned_to=none', 'assigned_to=none', ['b']],
      ['assigned_to=<user id>', 'assigned_to=OTHER', ['c']],
      ['due_before (inclusive)', 'due_before=2030-01-20', ['a', 'b']],
      ['due_after (inclusive)', 'due_after=2030-01-20', ['b', 'd']],
      ['a due window', 'due_after=2030-01-11&due_before=2030-01-31', ['b']],
      ['q in the title or description, any case', 'q=SpEc', ['a', 'b']],
      ['q with a LIKE wildcard taken literally', 'q=100%25', ['c']],
      ['q with an underscore taken literally', 'q=_', []],
      ['project', 'project=P2', ['c', 'd']],
      ['combined filters', 'project=P1&priority=high&assigned_to=me&status=todo', ['a']],
      ['combined filters matching nothing', 'project=P2&status=todo', []],
    ])('filters by %s', async (_label, query, expected) => {
      const q = query.replace('OTHER', org.otherMember.id).replace('P1', p1.id).replace('P2', p2.id);
      const res = await list(org.member, q);
      expect(res.status).toBe(200);
      expect(new Set(ids(res))).toEqual(new Set(expected.map((k) => t[k]!.id)));
    });

    it('answers 404 for an organization the caller does not belong to, and an empty page for a project they cannot see', async () => {
      expect((await h.call('GET', `/api/v1/tasks/?organization=${second.id}`, org.otherMember)).status).toBe(404);
      expect((await h.call('GET', `/api/v1/tasks/?organization=${randomUUID()}`, org.otherMember)).status).toBe(404);
      const hidden = await h.call('GET', `/api/v1/tasks/?project=${foreignTask.project}`, org.member);
      expect(hidden.status).toBe(200);
      expect(hidden.body).toEqual({ results: [], next: null });
      const unknown = await h.call('GET', `/api/v1/tasks/?project=${randomUUID()}`, org.member);
      expect(unknown.body).toEqual(hidden.body);
    });

    it.each([
      'status=blocked',
      'priority=urgent',
      'due_before=2030-02-30',
      'due_after=yesterday',
      'ordering=title',
      'ordering=--created_at',
      'limit=-1',
      'priority=high&priority=low',
      `q=${'x'.repeat(201)}`,
      'cursor=%%%',
      `cursor=${Buffer.from('[1,2,3]').toString('base64url')}`,
    ])('refuses ?%s with 400', async (query) => {
      const res = await h.call('GET', `/api/v1/tasks/?${query}`, org.member);
      expect(res.status).toBe(400);
      expect(res.headers.get('content-type')).toContain('application/problem+json');
    });

    it('treats a malformed id in a filter as not found: 404 for the organization, an empty page otherwise', async () => {
      expect((await h.call('GET', '/api/v1/tasks/?organization=nope', org.member)).status).toBe(404);
      for (const query of ['assigned_to=someone', 'project=123']) {
        const res = await h.call('GET', `/api/v1/tasks/?${query}`, org.member);
        expect([query, res.status, res.body.results]).toEqual([query, 200, []]);
      }
    });

    it('refuses a cursor made for another ordering', async () => {
      const first = await h.call('GET', `/api/v1/tasks/?organization=${org.id}&limit=1&ordering=priority`, org.member);
      const cursor = new URLSearchParams(first.body.next.split('?')[1]).get('cursor');
      const res = await h.call('GET', `/api/v1/tasks/?organization=${org.id}&limit=1&ordering=-created_at&cursor=${cursor}`, org.member);
      expect(res.status).toBe(400);
      expect(res.body.code).toBe('invalid_cursor');
    });
  });

  describe('orderings and pagination', () => {
    let org: Awaited<ReturnType<Harness['organization']>>;
    let project: { id: string };
    const priorities = ['low', 'medium', 'high'];
    const rank: Record<string, number> = { low: 1, medium: 2, high: 3 };

    beforeAll(async () => {
      org = await h.organization();
      project = await seedProject(h, org.admin, org.id, 'Paged');
      // Many ties: three priorities, four due dates (and none), created in quick bursts.
      await Promise.all(
        Array.from({ length: 45 }, (_, i) =>
          seedTask(h, org.admin, project.id, {
            title: `Seed ${i}`,
            priority: priorities[i % 3],
            due_date: i % 5 === 0 ? null : `2030-03-0${(i % 4) + 1}`,
          }),
        ),
      );
    });

    const compare: Record<string, (a: Task, b: Task) => number> = {
      created_at: (a, b) => a.created_at.localeCompare(b.created_at),
      updated_at: (a, b) => a.updated_at.localeCompare(b.updated_at),
      priority: (a, b) => rank[a.priority]! - rank[b.priority]!,
      due_date: (a, b) => (a.due_date ?? '9999-99-99').localeCompare(b.due_date ?? '9999-99-99'),
    };
    const expectOrdered = (tasks: Task[], ordering: string) => {
      const desc = ordering.startsWith('-');
      const cmp = compare[ordering.replace('-', '')]!;
      for (let i = 1; i < tasks.length; i += 1) {
        const [a, b] = [tasks[i - 1]!, tasks[i]!];
        const c = cmp(a, b) || a.id.localeCompare(b.id);
        expect(desc ? c > 0 : c < 0).toBe(true);
      }
    };

    it.each(['-created_at', 'created_at', '-updated_at', 'updated_at', 'due_date', '-due_date', 'priority', '-priority'])(
      'walks every task exactly once, in %s order, while tasks are being created',
      async (ordering) => {
        const existing = new Set(ids(await h.call('GET', `/api/v1/tasks/?project=${project.id}&limit=200`, org.member)));
        let added = 0;
        const seen = await walk(org.member, `/api/v1/tasks/?project=${project.id}&ordering=${ordering}&limit=4`, async () => {
          added += 1;
          await seedTask(h, org.admin, project.id, { title: `During ${ordering} ${added}`, priority: priorities[added % 3], due_date: added % 2 ? null : '2030-03-02' });
        });
        const seenIds = seen.map((x) => x.id);
        expect(new Set(seenIds).size).toBe(seenIds.length);
        for (const id of existing) expect(seenIds).toContain(id);
        expectOrdered(seen, ordering);
      },
    );

    it('defaults to newest first and serves the next page through both `next` and the Link header', async () => {
      const first = await h.call('GET', `/api/v1/tasks?project=${project.id}&limit=2`, org.admin);
      expect(first.body.results).toHaveLength(2);
      expect(first.body.results[0].created_at >= first.body.results[1].created_at).toBe(true);
      expect(first.headers.get('link')).toBe(`<${first.body.next}>; rel="next"`);
      expect(first.body.next).toMatch(/^\/api\/v1\/tasks\?project=.*&limit=2&cursor=/);
    });
  });

  describe('index use', () => {
    // Rows written straight to the table so the test stays fast; the API serves them as any other.
    let user: TestUser;
    const big = randomUUID();
    const small = randomUUID();
    const projects: Record<string, string> = {};

    beforeAll(async () => {
      user = h.user('scale');
      // 20 projects per organization; one task in 50 assigned to the user (the rest to others).
      const insert = async (org: string, n: number) => {
        await h.db('membership_replica').insert({ organization_id: org, user_id: user.id, role: 'member', version: 1 });
        const rows = await h.db('projects').insert(Array.from({ length: 20 }, (_, i) => ({ organization_id: org, name: `Scale ${i}` }))).returning('id');
        const ids = rows.map((r: { id: string }) => r.id);
        projects[org] = ids[0];
        await h.db.raw(
          `insert into work.tasks (organization_id, project_id, title, assigned_to, priority, due_date, created_by, created_at, updated_at)
           select ?, (?::uuid[])[1 + i % 20], 'Task ' || i, case when i % 50 = 0 then ?::uuid else gen_random_uuid() end,
                  (array['low','medium','high'])[1 + i % 3], case when i % 4 = 0 then null else date '2030-01-01' + (i % 300) end,
                  ?, now() - (i || ' seconds')::interval, now() - (i || ' seconds')::interval
           from generate_series(1, ?) i`,
          [org, ids, user.id, user.id, n],
        );
      };
      await insert(big, 60_000);
      await insert(small, 1_000);
      await h.db.raw('analyze work.tasks');
    }, 120_000);

    /** EXPLAIN ANALYZE of the statement the API runs, as JSON. */
    async function plan(organization: string | 'all', filters: Record<string, unknown>, ordering: TaskOrdering, after?: readonly [string, string]) {
      const organizations = organization === 'all' ? organizationsOfUser(user.id) : oneOrganization(organization);
      const query = taskPageQuery(organizations, filters, { ordering, after }, 51);
      const result = await h.db.raw(`explain (analyze, format json) ${query.text}`, query.values);
      return result.rows[0]['QUERY PLAN'][0].Plan as PlanNode;
    }
    interface PlanNode {
      'Node Type': string;
      'Index Name'?: string;
      'Relation Name'?: string;
      'Actual Rows': number;
      'Rows Removed by Filter'?: number;
      Plans?: PlanNode[];
    }
    const nodes = (n: PlanNode): PlanNode[] => [n, ...(n.Plans ?? []).flatMap(nodes)];
    /** The nodes reading the tasks table or one of its indexes (a bitmap heap scan reads its index in a child). */
    const taskScans = (n: PlanNode) => nodes(n).filter((x) => x['Relation Name'] === 'tasks' || x['Index Name']?.startsWith('tasks_'));
    const indexesOf = (scans: PlanNode[]) => [...new Set(scans.map((s) => s['Index Name']).filter(Boolean))];

    it.each([
      ['the newest 50 tasks of a project', (org: string) => ({ project: projects[org] }), '-created_at', 'tasks_project_created_at'],
      ['the tasks of a project by due date', (org: string) => ({ project: projects[org] }), '-due_date', 'tasks_project_due_key'],
      ['the newest 50 tasks assigned to me', () => ({ assignedTo: user.id }), '-created_at', 'tasks_assignee_created_at'],
      ['the most urgent tasks assigned to me', () => ({ assignedTo: user.id }), '-priority', 'tasks_assignee_priority_rank'],
    ] as const)('reads %s from one index, touching the same number of rows at 1k and 60k tasks', async (_label, filters, ordering, index) => {
      for (const org of [small, big]) {
        const root = await plan(org, filters(org), ordering);
        const scans = taskScans(root);
        // With few matches the planner may read them through any index of the same prefix and sort them.
        if (org === big) expect(indexesOf(scans)).toEqual([index]);
        else expect(indexesOf(scans).map((name) => name!.replace(/_[a-z]+_[a-z]+$/, ''))).toEqual([index.replace(/_[a-z]+_[a-z]+$/, '')]);
        expect(scans.some((s) => s['Node Type'] === 'Seq Scan')).toBe(false);
        for (const scan of scans) {
          expect(scan['Actual Rows']).toBeLessThanOrEqual(51);
          expect(scan['Rows Removed by Filter'] ?? 0).toBe(0);
        }
        // At most the merge of the page is sorted, never the organization's tasks.
        expect(nodes(root).filter((n) => n['Node Type'] === 'Sort' && n['Actual Rows'] > 51)).toEqual([]);
      }
    });

    it('reads "assigned to me" across all of the caller’s organizations with one bounded index scan per organization', async () => {
      const root = await plan('all', { assignedTo: user.id }, '-created_at');
      const scans = taskScans(root);
      expect(indexesOf(scans)).toEqual(['tasks_assignee_created_at']);
      // One scan per organization (loops), each stopping after at most a page.
      for (const scan of scans) {
        expect(scan['Actual Rows']).toBeLessThanOrEqual(51);
        expect(scan['Rows Removed by Filter'] ?? 0).toBe(0);
      }
      // Only the merge of those pages is sorted.
      for (const sort of nodes(root).filter((n) => n['Node Type'] === 'Sort')) expect(sort['Actual Rows']).toBeLessThanOrEqual(51);
    });

    it('starts a deep page (row 2,500 of a project) at the cursor inside the index instead of skipping the rows before it', async () => {
      const deep = await h.db('tasks').where({ project_id: projects[big] }).orderBy([{ column: 'created_at', order: 'desc' }, { column: 'id', order: 'desc' }]).offset(2_500).first();
      const root = await plan(big, { project: projects[big] }, '-created_at', [deep.created_at.toISOString(), deep.id]);
      const scans = taskScans(root);
      expect(indexesOf(scans)).toEqual(['tasks_project_created_at']);
      for (const scan of scans) expect(scan['Actual Rows']).toBeLessThanOrEqual(51);
    });

    it('serves the same hot lists over HTTP', async () => {
      const mine = await h.call('GET', `/api/v1/tasks/?assigned_to=me&limit=50`, user);
      expect(mine.status).toBe(200);
      expect(mine.body.results).toHaveLength(50);
      expect(mine.body.results.every((x: Task) => x.assigned_to === user.id)).toBe(true);
      const ofProject = await h.call('GET', `/api/v1/tasks/?project=${projects[big]}&limit=50`, user);
      expect(ofProject.body.results).toHaveLength(50);
    });
  });

  describe('pages written by PostgreSQL', () => {
    let org: Awaited<ReturnType<Harness['organization']>>;
    let project: { id: string };

    beforeAll(async () => {
      org = await h.organization();
      project = await seedProject(h, org.admin, org.id, 'Bytes');
      // Text JSON escapes (quotes, backslashes, newlines, tabs, non-ASCII), nulls and dates.
      await seedTask(h, org.admin, project.id, { title: 'Quote " and \\ backslash', description: 'Line one\nline\ttwo', priority: 'high', due_date: '2030-02-03' });
      await seedTask(h, org.admin, project.id, { title: 'Ünïcødé ✓ 🚀 </script>', assigned_to: org.member.id, status: 'in_progress' });
      await seedTask(h, org.admin, project.id, { title: 'Plain', priority: 'low' });
    });

    /** The body as the service sends it, as text. */
    const raw = async (path: string, user: TestUser) => {
      const res = await fetch(`${h.url}${path}`, { headers: { authorization: `Bearer ${user.token}` } });
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toBe('application/json; charset=utf-8');
      return { text: await res.text(), link: res.headers.get('link') };
    };

    it.each([
      ['-created_at', 'created_at desc, id desc', (r: TaskRow) => r.created_at.toISOString()],
      ['priority', 'priority_rank asc, id asc', (r: TaskRow) => r.priority_rank],
      ['-due_date', 'due_key desc, id desc', (r: TaskRow) => r.due_cursor],
    ] as const)('are byte for byte what JSON.stringify makes of the rows (ordering=%s), next link included', async (ordering, orderBy, sortValue) => {
      const rows = (
        await h.db.raw(`select *, due_date::text as due_date, due_key::text as due_cursor from work.tasks where project_id = ? order by ${orderBy}`, [project.id])
      ).rows as TaskRow[];
      const path = `/api/v1/tasks?project=${project.id}&ordering=${ordering}&limit=2`;
      const next = `${path}&cursor=${encodeCursor([ordering, sortValue(rows[1]!), rows[1]!.id])}`;
      const first = await raw(path, org.member);
      expect(first.text).toBe(JSON.stringify({ results: rows.slice(0, 2).map(presentTask), next }));
      expect(first.link).toBe(`<${next}>; rel="next"`);
      const last = await raw(next, org.member);
      expect(last.text).toBe(JSON.stringify({ results: rows.slice(2).map(presentTask), next: null }));
      expect(last.link).toBeNull();
    });

    it('writes an empty page as an empty list', async () => {
      const empty = await raw(`/api/v1/tasks?project=${project.id}&status=review`, org.member);
      expect(empty.text).toBe('{"results":[],"next":null}');
    });
  });
});
