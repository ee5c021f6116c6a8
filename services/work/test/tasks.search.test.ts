// Text search (`q=`): answered from the trigram indexes, not by reading every task of the organization.
import { oneOrganization } from '@taskflow/shared/testing';
import { plannedForFilters, taskPageQuery, type TaskFilters } from '../src/db/tasks';
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

  async function plan(filters: TaskFilters): Promise<PlanNode> {
    // The statement the service runs, planned with the settings the service plans it with.
    const result = await plannedForFilters(h.db, filters, (planned) => {
      const query = taskPageQuery(oneOrganization(org.id), filters, { ordering: '-created_at' }, 51);
      return planned.raw(`explain (analyze, format json) ${query.text}`, query.values);
    });
    return result.rows[0]['QUERY PLAN'][0].Plan as PlanNode;
  }

  it.each([['quarterly'], ['100%_done'], ['ZZ_no_such_text']])('reads q=%s through the trigram indexes of title and description', async (q) => {
    const root = await plan({ q });
    const indexes = new Set(nodes(root).map((n) => n['Index Name']).filter(Boolean));
    expect(indexes).toEqual(new Set(['tasks_title_trgm', 'tasks_description_trgm']));
    // Never a walk over the organization's tasks filtering each description.
    for (const scan of nodes(root)) {
      expect(scan['Node Type']).not.toBe('Seq Scan');
      expect(scan['Rows Removed by Filter'] ?? 0).toBeLessThan(10);
      expect(scan['Rows Removed by Index Recheck'] ?? 0).toBeLessThan(10);
    }
  });

  it('answers from those indexes case-insensitively in title or description, with % and _ taken literally', async () => {
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
    expect(indexes).toEqual(expect.arrayContaining(['tasks_title_trgm', 'tasks_description_trgm']));
  });
});
