// Text search (`q=`): answered from the organization's trigrams in the search index, not by reading
// every task of the organization, also before the planner's statistics have seen the organization's tasks.
import { organizationsOfUser, type Sql } from '@taskflow/shared';
import { oneOrganization } from '@taskflow/shared/testing';
import { plannedForFilters, taskPageQuery, type TaskFilters, type TaskRow } from '../src/db/tasks';
import { presentTask } from '../src/http/present';
import { type Harness, seedProject, seedTask, startHarness, type TestUser } from './harness';

interface PlanNode {
  'Node Type': string;
  'Index Name'?: string;
  'Relation Name'?: string;
  'Actual Rows': number;
  'Rows Removed by Filter'?: number;
  'Rows Removed by Index Recheck'?: number;
  Plans?: PlanNode[];
}
const nodes = (n: PlanNode): PlanNode[] => [n, ...(n.Plans ?? []).flatMap(nodes)];
const SEARCH_INDEXES = new Set(['tasks_org_text_trgm']);

/** EXPLAIN ANALYZE of the page statement the service runs, planned with the settings the service plans it with. */
async function explainPage(h: Harness, organizations: Sql, filters: TaskFilters): Promise<PlanNode> {
  const result = await plannedForFilters(h.db, filters, (planned) => {
    const query = taskPageQuery(organizations, filters, { ordering: '-created_at' }, 51);
    return planned.raw(`explain (analyze, format json) ${query.text}`, query.values);
  });
  return result.rows[0]['QUERY PLAN'][0].Plan as PlanNode;
}

/** Asserts that the plan reads tasks only through the search index, and reads no task it then throws away. */
function expectSearchIndexesOnly(root: PlanNode): void {
  // The nodes reading the tasks table or one of its indexes (a bitmap heap scan reads its index in a child).
  const scans = nodes(root).filter((n) => n['Relation Name'] === 'tasks' || n['Index Name']?.startsWith('tasks_'));
  expect(new Set(scans.map((n) => n['Index Name']).filter(Boolean))).toEqual(SEARCH_INDEXES);
  for (const scan of scans) {
    expect(scan['Node Type']).not.toBe('Seq Scan');
    expect(scan['Rows Removed by Filter'] ?? 0).toBeLessThan(10);
    expect(scan['Rows Removed by Index Recheck'] ?? 0).toBeLessThan(10);
  }
}

describe('task text search', () => {
  let h: Harness;
  let org: Awaited<ReturnType<Harness['organization']>>;
  let member: TestUser;
  const TASKS = 1_000;

  beforeAll(async () => {
    h = await startHarness();
    org = await h.organization();
    member = org.member;
    const project = await seedProject(h, org.admin, org.id, 'Flooded');
    // A flooding tenant's tasks: ~4 KB descriptions of letters a-p, none containing the searched words.
    await h.db.raw(
      `insert into work.tasks (organization_id, project_id, title, description, created_by, created_at, updated_at)
       select ?, ?, 'Imported ' || md5(i::text), d.text, ?, now() - (i || ' seconds')::interval, now() - (i || ' seconds')::interval
         from generate_series(1, ?) i
        cross join lateral (select string_agg(translate(md5(i::text || '/' || j::text), '0123456789', 'ghijklmnop'), ' ') as text from generate_series(1, 120) j) d`,
      [org.id, project.id, org.admin.id, TASKS],
    );
    await seedTask(h, org.admin, project.id, { title: 'Quarterly report', description: 'Send the 100%_done figures to finance' });
    await seedTask(h, org.admin, project.id, { title: 'Budget', description: 'Mention the quarterly figures' });
    await seedTask(h, org.admin, project.id, { title: 'Decoy', description: 'Send the 100 percent done figures' });
    await h.db.raw('analyze work.tasks');
  }, 120_000);
  afterAll(() => h.close());

  const plan = (filters: TaskFilters) => explainPage(h, oneOrganization(org.id), filters);

  it.each([['quarterly'], ['100%_done'], ['ZZ_no_such_text']])('reads q=%s through the organization’s trigrams of title and description', async (q) => {
    // Never a walk over the organization's tasks filtering each description.
    expectSearchIndexesOnly(await plan({ q }));
  });

  it('answers from that index case-insensitively in title or description, with % and _ taken literally', async () => {
    const titles = async (q: string) => {
      const res = await h.call('GET', `/api/v1/tasks/?organization=${org.id}&q=${encodeURIComponent(q)}`, member);
      expect(res.status).toBe(200);
      return res.body.results.map((t: { title: string }) => t.title).sort();
    };
    expect(await titles('QUARTERLY')).toEqual(['Budget', 'Quarterly report']);
    expect(await titles('100%_done')).toEqual(['Quarterly report']);
    expect(await titles('100%')).toEqual(['Quarterly report']);
    expect(await titles('send the 100_')).toEqual([]);
    const indexes = nodes(await plan({ q: 'send the 100_' })).map((n) => n['Index Name']);
    expect(indexes).toEqual(expect.arrayContaining([...SEARCH_INDEXES]));
  });
});

describe('task text search before the statistics have seen the organization’s tasks', () => {
  let h: Harness;
  let org: Awaited<ReturnType<Harness['organization']>>;
  let neighbour: Awaited<ReturnType<Harness['organization']>>;
  let member: TestUser;
  const FLOOD = 3_000;

  /** `count` tasks straight into the table, the i-th with the `title` and `description` SQL expressions over i. */
  async function insertTasks(organization: string, project: string, createdBy: string, count: number, title: string, description: string) {
    await h.db.raw(
      `insert into work.tasks (organization_id, project_id, title, description, created_by, created_at, updated_at)
       select ?, ?, ${title}, ${description}, ?, now() - (i || ' seconds')::interval, now() - (i || ' seconds')::interval
         from generate_series(1, ?) i`,
      [organization, project, createdBy, count],
    );
  }

  beforeAll(async () => {
    h = await startHarness();
    org = await h.organization();
    neighbour = await h.organization();
    member = org.member;
    // The member belongs to both organizations: a search without `organization=` reads both.
    await h.join(neighbour.id, member, 'member');
    const project = await seedProject(h, org.admin, org.id, 'Flooded');
    const settled = await seedProject(h, neighbour.admin, neighbour.id, 'Settled');
    // What the statistics see: a neighbour with 2,000 short tasks and this organization with 3.
    await insertTasks(neighbour.id, settled.id, neighbour.admin.id, 2_000, `'Settled ' || i`, `case when i % 400 = 0 then 'Quartz clock ' else 'Routine ' end || i`);
    await seedTask(h, org.admin, project.id, { title: 'Quartz sample', description: 'Before the flood' });
    await seedTask(h, org.admin, project.id, { title: 'Budget', description: 'mention the QUARTZ figures' });
    await seedTask(h, org.admin, project.id, { title: 'Decoy', description: 'quart and z' });
    await h.db.raw('analyze work.tasks');
    // Kept as they are (autovacuum would analyze after the flood): the window right after a bulk import.
    await h.db.raw('alter table work.tasks set (autovacuum_enabled = false)');
    // The flood: ~2 KB descriptions of letters a-p (never "quartz"), one in 300 mentioning it, one title in 1,000.
    await insertTasks(
      org.id,
      project.id,
      org.admin.id,
      FLOOD,
      `case when i % 1000 = 0 then 'QUARTZ import ' else 'Imported ' end || i`,
      `(select string_agg(translate(md5(i::text || '/' || j::text), '0123456789', 'ghijklmnop'), ' ') from generate_series(1, 60) j) || case when i % 300 = 0 then ' a quartz vein' else '' end`,
    );
  }, 120_000);
  afterAll(() => h.close());

  it('starts from statistics that believe the organization has a handful of tasks', async () => {
    const result = await h.db.raw('explain (format json) select id from work.tasks where organization_id = ?', [org.id]);
    const estimate = result.rows[0]['QUERY PLAN'][0].Plan['Plan Rows'] as number;
    const [{ count }] = await h.db('tasks').where({ organization_id: org.id }).count({ count: '*' });
    expect(Number(count)).toBe(FLOOD + 3);
    expect(estimate).toBeLessThan(FLOOD / 10);
  });

  it.each([
    ['quartz', 'one organization'],
    ['zq1x', 'one organization'],
    ['quartz', 'every organization of the caller'],
    ['zq1x', 'every organization of the caller'],
  ])('reads q=%s in %s through the organization’s trigrams, never walking its tasks', async (q, scope) => {
    const organizations = scope === 'one organization' ? oneOrganization(org.id) : organizationsOfUser(member.id);
    expectSearchIndexesOnly(await explainPage(h, organizations, { q }));
  });

  /** The tasks the search must find, in the list's order: the definition of the search, without an index in mind. */
  async function expected(organizations: string[], text: string): Promise<ReturnType<typeof presentTask>[]> {
    const rows = (
      await h.db.raw(
        `select *, due_date::text as due_date, due_key::text as due_cursor from work.tasks
          where organization_id = any(?::uuid[]) and (title ilike ? or description ilike ?)
          order by created_at desc, id desc`,
        [organizations, `%${text}%`, `%${text}%`],
      )
    ).rows as TaskRow[];
    return rows.map(presentTask);
  }

  it.each([
    ['in one organization', () => `organization=${org.id}&`, () => [org.id]],
    ['across the caller’s organizations', () => '', () => [org.id, neighbour.id]],
  ])('finds the same tasks, page by page and byte for byte, %s', async (_label, scope, organizations) => {
    const all = await expected(organizations(), 'quartz');
    // 2 before the flood, 3 titles and 10 descriptions in it (i = 3000 in both), and the neighbour's 5 when asked.
    expect(all.length).toBe(organizations().length === 1 ? 14 : 19);
    const seen: unknown[] = [];
    let next: string | null = `/api/v1/tasks/?${scope()}q=QuArTz&limit=4`;
    while (next) {
      const res = await fetch(`${h.url}${next}`, { headers: { authorization: `Bearer ${member.token}` } });
      expect(res.status).toBe(200);
      const text = await res.text();
      const page = JSON.parse(text) as { results: unknown[]; next: string | null };
      expect(text).toBe(JSON.stringify({ results: all.slice(seen.length, seen.length + 4), next: page.next }));
      seen.push(...page.results);
      next = page.next;
    }
    expect(seen).toHaveLength(all.length);
  });
});
