// Deleting an organization while projects and tasks are being created in it: nothing survives the deletion.
import { randomUUID } from 'node:crypto';
import type { Knex } from '@taskflow/shared';
import { eventually, type JsonResponse } from '@taskflow/shared/testing';
import { type Harness, seedProject, seedTask, startHarness, type TestUser } from './harness';

describe('organization deletion racing creates', () => {
  let h: Harness;

  beforeAll(async () => {
    h = await startHarness();
  });
  afterAll(() => h.close());
  // A failed test must not leave its blocking transaction open (closing the pool would wait for it).
  const open: Knex.Transaction[] = [];
  afterEach(async () => {
    for (const trx of open.splice(0)) if (!trx.isCompleted()) await trx.rollback().catch(() => undefined);
  });

  /** A transaction of the test's own, held open until `release` (rolled back). */
  async function holdTransaction(): Promise<{ trx: Knex.Transaction; release: () => Promise<void> }> {
    const trx = await h.db.transaction();
    open.push(trx);
    return { trx, release: async () => void (await trx.rollback()) };
  }

  /** Resolves once a backend of this database waits for a lock on a statement matching `pattern`. */
  const waitingOn = (pattern: string, waitEvent?: string) =>
    eventually(async () => {
      const { rows } = await h.db.raw(
        `select 1 from pg_stat_activity
          where datname = current_database() and wait_event_type = 'Lock' and query ilike ? and (?::text is null or wait_event = ?)`,
        [pattern, waitEvent ?? null, waitEvent ?? null],
      );
      return rows.length > 0;
    });

  async function deleteOrganization(org: { id: string; owner: TestUser }): Promise<string> {
    return h.publish('tenancy.organization.deleted', org.id, { organization: { id: org.id, name: 'Doomed' } }, org.owner);
  }
  const applied = (messageId: string) => eventually(async () => Boolean(await h.db('processed_messages').where({ message_id: messageId }).first()));

  /** Every event about the organization is published, and none created anything after a deletion. */
  async function expectNothingCreatedAfterDeletion(organization: string): Promise<void> {
    await eventually(async () => Number((await h.db('outbox').whereNull('published_at').count({ n: '*' }).first())?.n) === 0);
    const rows: { type: string; seq: string }[] = await h.db('outbox').select('type', 'seq').whereRaw(`envelope->>'organization_id' = ?`, [organization]).orderBy('seq');
    const firstDeletion = rows.findIndex((r) => r.type.endsWith('.deleted'));
    expect(firstDeletion).toBeGreaterThanOrEqual(0);
    expect(rows.slice(firstDeletion).filter((r) => r.type.endsWith('.created'))).toEqual([]);
  }

  /**
   * Starts a create that passes every check made before its transaction, then stops it inside the
   * transaction (its Idempotency-Key is claimed by an open transaction of the test) until `release`.
   */
  async function createStalledInsideItsTransaction(user: TestUser, path: string, body: unknown) {
    const key = `race-${randomUUID()}`;
    const blocker = await holdTransaction();
    await blocker.trx('idempotency_keys').insert({ user_id: user.id, key, request_hash: 'held by the test' });
    const response: Promise<JsonResponse> = h.call('POST', path, user, { body, headers: { 'idempotency-key': key } });
    await waitingOn('%idempotency_keys%');
    return { response, release: blocker.release };
  }

  it('refuses a project create that reaches its write after the deletion was applied', async () => {
    const org = await h.organization();
    await seedProject(h, org.admin, org.id, 'Existing');
    const create = await createStalledInsideItsTransaction(org.admin, '/api/v1/projects/', { organization: org.id, name: 'Late arrival' });

    await applied(await deleteOrganization(org));
    await create.release();

    const res = await create.response;
    expect(res.status).toBe(400);
    expect(res.body.errors).toEqual({ organization: ['Organization not found.'] });
    expect(await h.db('projects').where({ organization_id: org.id })).toEqual([]);
    await expectNothingCreatedAfterDeletion(org.id);
  });

  it('refuses a task create that reaches its write after the deletion was applied', async () => {
    const org = await h.organization();
    const project = await seedProject(h, org.admin, org.id);
    await seedTask(h, org.admin, project.id, { title: 'Existing' });
    const create = await createStalledInsideItsTransaction(org.owner, '/api/v1/tasks/', { project: project.id, title: 'Late arrival' });

    await applied(await deleteOrganization(org));
    await create.release();

    const res = await create.response;
    expect(res.status).toBe(400);
    expect(res.body.errors).toEqual({ project: ['Project not found.'] });
    expect(await h.db('tasks').where({ organization_id: org.id })).toEqual([]);
    expect(await h.db('projects').where({ organization_id: org.id })).toEqual([]);
    await expectNothingCreatedAfterDeletion(org.id);
  });

  it('makes a deletion that arrives while a create is writing wait for it, then delete what it created', async () => {
    const org = await h.organization();
    const project = await seedProject(h, org.admin, org.id);
    // The create stops inside its write, after it took the organization's lock, on the actor's membership row.
    const blocker = await holdTransaction();
    await blocker.trx('membership_replica').where({ organization_id: org.id, user_id: org.admin.id }).forUpdate();
    const response = h.call('POST', '/api/v1/tasks/', org.admin, { body: { project: project.id, title: 'In flight' } });
    await waitingOn('%membership_replica%');

    const deletion = await deleteOrganization(org);
    await waitingOn('%pg_advisory_xact_lock%', 'advisory');
    await blocker.release();

    const res = await response;
    expect(res.status).toBe(201);
    await applied(deletion);
    expect(await h.db('tasks').where({ organization_id: org.id })).toEqual([]);
    expect(await h.db('projects').where({ organization_id: org.id })).toEqual([]);
    await eventually(() => h.eventsOf('work.task.deleted', (e) => e.data.task.id === res.body.id).length === 1);
    await expectNothingCreatedAfterDeletion(org.id);
  });

  it('leaves nothing of the organization behind when many creates race its deletion', async () => {
    const org = await h.organization();
    const project = await seedProject(h, org.admin, org.id);
    const creates = Array.from({ length: 24 }, (_, i) =>
      i % 2 === 0
        ? h.call('POST', '/api/v1/projects/', org.admin, { body: { organization: org.id, name: `Racing ${i}` } })
        : h.call('POST', '/api/v1/tasks/', org.owner, { body: { project: project.id, title: `Racing ${i}` } }),
    );
    const deletion = await deleteOrganization(org);
    const statuses = (await Promise.all(creates)).map((r) => r.status);
    await applied(deletion);

    expect(statuses.every((s) => s === 201 || s === 400)).toBe(true);
    expect(await h.db('tasks').where({ organization_id: org.id })).toEqual([]);
    expect(await h.db('projects').where({ organization_id: org.id })).toEqual([]);
    await expectNothingCreatedAfterDeletion(org.id);
  });
});
