// Fair use between tenants (issue 9, finding 4): one tenant at its concurrency cap does not hold up
// another tenant's requests; its excess waits, and beyond the queue bound is a 429 + Retry-After that
// changes nothing. Tenant A's requests are held inside PostgreSQL (the test holds the row lock they
// need), so "A is at its cap" is a condition observed in pg_stat_activity, never a timing.
import { eventually } from '@taskflow/shared/testing';
import { type Harness, seedProject, seedTask, snapshot, startHarness, type TestUser } from './harness';

const CAP = 2;

describe('fair use: a per-tenant concurrency cap with a fair queue in work', () => {
  let h: Harness;
  let a: TestUser;
  let b: TestUser;
  let aProject: { id: string };
  let aTask: { id: string };
  let bProject: { id: string };

  beforeAll(async () => {
    h = await startHarness({
      env: {
        FAIR_USE_TENANT_CONCURRENCY: String(CAP),
        // A is alone for most of the test: no borrowing beyond its cap (the queue's own tests cover that).
        FAIR_USE_ALONE_CONCURRENCY: String(CAP),
        FAIR_USE_QUEUE: '1',
        // Long enough that neither the wait nor the held statements end on their own during the test.
        FAIR_USE_QUEUE_TIMEOUT_MS: '120000',
        DB_STATEMENT_TIMEOUT_MS: '120000',
      },
    });
    const orgA = await h.organization();
    const orgB = await h.organization();
    a = orgA.admin;
    b = orgB.admin;
    aProject = await seedProject(h, a, orgA.id, 'A');
    aTask = await seedTask(h, a, aProject.id, { title: 'Contended' });
    bProject = await seedProject(h, b, orgB.id, 'B');
    await seedTask(h, b, bProject.id, { title: 'B routine' });
  }, 60_000);

  afterAll(() => h?.close());

  const lockWaiters = async () =>
    Number((await h.db.raw("select count(*) as n from pg_stat_activity where datname = current_database() and wait_event_type = 'Lock'")).rows[0].n);

  const fairUseMetric = async (name: string) => {
    const res = await h.call('GET', '/metrics', null);
    const line = String(res.body).split('\n').find((l) => l.startsWith(name));
    return line === undefined ? undefined : Number(line.split(' ').pop());
  };

  it("admits tenant B while tenant A is at its cap, queues A's excess, and refuses A beyond the bound with 429 + Retry-After, changing nothing", async () => {
    const lock = await h.db.transaction();
    const settled: string[] = [];
    const track = <T>(label: string, p: Promise<T>) => p.finally(() => settled.push(label));
    try {
      await lock('tasks').where({ id: aTask.id }).forUpdate();
      // A fills its cap: two updates of the locked task, both waiting on the lock inside PostgreSQL.
      const held = [1, 2].map((n) => track(`a${n}`, h.call('PATCH', `/api/v1/tasks/${aTask.id}/`, a, { body: { title: `Held ${n}` } })));
      await eventually(() => lockWaiters().then((n) => n === CAP), 20_000);
      // A's third request waits in A's queue (bound 1), not in the database.
      const queued = track('a3', h.call('PATCH', `/api/v1/tasks/${aTask.id}/`, a, { body: { title: 'Queued' } }));
      await eventually(() => fairUseMetric('fair_use_waiting').then((n) => n === 1), 20_000);
      expect(await lockWaiters()).toBe(CAP);

      // Beyond the bound: refused at once, with the problem body, and nothing stored or published.
      const before = await snapshot(h);
      const refused = await h.call('POST', '/api/v1/tasks/', a, { body: { project: aProject.id, title: 'Refused write' }, headers: { 'Idempotency-Key': 'refused-1' } });
      expect(refused.status).toBe(429);
      expect(refused.headers.get('retry-after')).toBe('1');
      expect(refused.headers.get('content-type')).toMatch(/^application\/problem\+json/);
      expect(refused.body).toMatchObject({ status: 429, code: 'too_many_concurrent_requests', title: 'Too Many Requests' });
      expect(await snapshot(h)).toEqual(before);
      expect(await h.db('idempotency_keys').where({ key: 'refused-1' }).first()).toBeUndefined();

      // B is admitted at once: its list and its write complete while all of A's requests are still held.
      const list = await h.call('GET', `/api/v1/tasks/?project=${bProject.id}`, b);
      expect(list.status).toBe(200);
      expect(list.body.results.map((t: { title: string }) => t.title)).toEqual(['B routine']);
      const created = await h.call('POST', '/api/v1/tasks/', b, { body: { project: bProject.id, title: 'B during the flood' } });
      expect(created.status).toBe(201);
      expect(settled).toEqual([]);

      await lock.commit();
      const answers = await Promise.all([...held, queued]);
      expect(answers.map((r) => r.status)).toEqual([200, 200, 200]);
      // The queued update ran only after one of the held ones finished (it was never in the database early).
      expect(settled.indexOf('a3')).toBeGreaterThan(Math.min(settled.indexOf('a1'), settled.indexOf('a2')));
      await eventually(() => h.eventsOf('work.task.created', (e) => e.data.task.title === 'B during the flood').length === 1, 10_000);
      expect(await h.db('tasks').where({ title: 'Refused write' }).first()).toBeUndefined();
      expect(h.eventsOf('work.task.created', (e) => e.data.task.title === 'Refused write')).toEqual([]);
      expect(await fairUseMetric('fair_use_rejected_total{reason="queue_full"')).toBe(1);
      expect(await fairUseMetric('fair_use_queued_total')).toBe(1);
    } finally {
      if (!lock.isCompleted()) await lock.rollback();
    }
  }, 60_000);

});
