// The broker goes away for this test's vhost (permissions revoked, connections closed; the shared
// RabbitMQ keeps running for everyone else) while users keep writing. Writes must succeed, and once
// the broker is back every event must reach the activity log exactly once.
import { eventually } from '@taskflow/shared/testing';
import { type Cluster, startCluster } from './cluster';
import { statusOf } from './processes';
import { activityOf, countByTarget, management, orgWithProject } from './helpers';

describe('broker outage during writes', () => {
  let cluster: Cluster;
  let mq: ReturnType<typeof management>;
  let revoked = false;

  beforeAll(async () => {
    mq = management();
    cluster = await startCluster();
  });
  afterAll(async () => {
    if (revoked && cluster) await mq.grant(cluster.vhost.name).catch(() => undefined);
    await cluster?.stop();
  });

  it('accepts writes while the broker is unreachable and delivers every event exactly once afterwards', async () => {
    const { owner, org, project } = await orgWithProject(cluster.url, 'Bruno');
    // The pipeline works before the outage: the organization's creation is in the log.
    await eventually(async () => (await activityOf(owner, org.id)).some((e) => e.verb === 'organization.created'), 10_000, 100);

    // --- outage: no permission on the vhost, every connection of the vhost closed.
    await mq.revoke(cluster.vhost.name);
    revoked = true;
    // The management API lists connections from periodic statistics: wait until it shows them.
    const conns = await eventually(async () => {
      const listed = await mq.connectionsOf(cluster.vhost.name);
      return listed.length > 0 ? listed : false;
    }, 20_000, 200);
    await Promise.all(conns.map((c) => mq.closeConnection(c.name)));
    // The services notice: their readiness reports the broker down, and nobody gets back in. The
    // listing lags behind (statistics are periodic), so close whatever it shows until every service
    // has lost its connection.
    for (const name of ['tenancy', 'work', 'audit'] as const) {
      await eventually(async () => {
        const listed = await mq.connectionsOf(cluster.vhost.name);
        await Promise.all(listed.map((c) => mq.closeConnection(c.name)));
        return (await statusOf(`${cluster.urls[name]}/readyz`)) === 503;
      }, 20_000, 200);
    }
    await eventually(async () => (await mq.connectionsOf(cluster.vhost.name)).length === 0, 20_000, 200);

    const created: string[] = [];
    for (let i = 0; i < 30; i += 1) {
      const res = await owner.call('POST', '/api/v1/tasks/', { project: project.id, title: `During outage ${i}` });
      expect({ i, status: res.status, body: res.body }).toEqual({ i, status: 201, body: expect.objectContaining({ id: expect.any(String) }) });
      created.push(res.body.id);
    }
    const renamed = await owner.call('PATCH', `/api/v1/organizations/${org.id}/`, { name: 'Renamed in the dark' });
    expect(renamed.status).toBe(200);
    expect(renamed.body.name).toBe('Renamed in the dark');
    // Still down: nothing reached the broker, so the log cannot have them yet.
    await eventually(async () => (await mq.connectionsOf(cluster.vhost.name)).length === 0, 20_000, 200);
    expect((await activityOf(owner, org.id)).filter((e) => e.verb === 'task.created')).toEqual([]);

    // --- recovery.
    await mq.grant(cluster.vhost.name);
    revoked = false;

    const expected = [...created.map((id) => `task.created ${id}`), `organization.renamed ${org.id}`];
    const entries = await eventually(
      async () => {
        const all = await activityOf(owner, org.id);
        const counts = countByTarget(all);
        return expected.every((k) => counts.has(k)) ? all : false;
      },
      45_000,
      250,
    );
    // Let any duplicate (a redelivery applied twice) show up before counting.
    await eventually(async () => {
      for (const name of ['tenancy', 'work', 'audit'] as const) if ((await statusOf(`${cluster.urls[name]}/readyz`)) !== 200) return false;
      return true;
    }, 30_000, 100);
    const counts = countByTarget(await activityOf(owner, org.id));
    for (const key of expected) expect({ key, n: counts.get(key) }).toEqual({ key, n: 1 });
    // Nothing else doubled either (organization created, membership added, project created).
    const doubled = [...counts.entries()].filter(([, n]) => n > 1);
    expect(doubled).toEqual([]);
    expect(entries.filter((e) => e.verb === 'task.created')).toHaveLength(30);
  });
});
