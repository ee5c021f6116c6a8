// PostgreSQL stops accepting connections to this test's database and every existing one is
// terminated. Readiness must say so everywhere, requests must fail fast (never hang, never a 200),
// and once connections are allowed again everything must come back by itself.
import type { Client } from 'pg';
import { eventually } from '@taskflow/shared/testing';
import { type Cluster, SERVICES, startCluster } from './cluster';
import { statusOf } from './processes';
import { activityOf, newAccount, orgWithProject, pgAdmin, type Timed, timed } from './helpers';

const CLIENT_TIMEOUT_MS = 3000;
const FAST_MS = 1500;

describe('PostgreSQL connections dropped', () => {
  let cluster: Cluster;
  let admin: Client;
  let blocked = false;

  const allowConnections = async (allow: boolean) => {
    await admin.query(`ALTER DATABASE "${cluster.database.name}" WITH ALLOW_CONNECTIONS ${allow}`);
    blocked = !allow;
  };

  beforeAll(async () => {
    cluster = await startCluster();
    admin = await pgAdmin();
  });
  afterAll(async () => {
    if (blocked) await allowConnections(true).catch(() => undefined);
    await admin?.end().catch(() => undefined);
    await cluster?.stop();
  });

  const readiness = async () => Object.fromEntries(await Promise.all(SERVICES.map(async (n) => [n, await statusOf(`${cluster.urls[n]}/readyz`, 4000)] as const)));

  it('reports not ready, fails requests fast while the database refuses connections, and recovers', async () => {
    const { owner, org, project } = await orgWithProject(cluster.url, 'Dora');
    const task = await owner.call('POST', '/api/v1/tasks/', { project: project.id, title: 'Before the outage' });
    expect(task.status).toBe(201);
    expect(await readiness()).toEqual(Object.fromEntries(SERVICES.map((name) => [name, 200])));

    // --- outage
    await allowConnections(false);
    const terminated = await admin.query('SELECT pg_terminate_backend(pid) AS ok FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()', [
      cluster.database.name,
    ]);
    expect(terminated.rowCount).toBeGreaterThan(0);

    await eventually(async () => {
      const r = await readiness();
      return Object.values(r).every((s) => s === 503) ? r : false;
    }, 15_000, 200);
    // The report names the database as the failing dependency.
    const workReady = await timed(`${cluster.urls.work}/readyz`, { timeoutMs: CLIENT_TIMEOUT_MS });
    expect(workReady.status).toBe(503);
    expect(workReady.body.checks.database).not.toBe('ok');

    const auth = { authorization: `Bearer ${owner.access}`, 'content-type': 'application/json' };
    const probes: Array<[string, () => Promise<Timed>]> = [
      ['task detail', () => timed(`${cluster.url}/api/v1/tasks/${task.body.id}/`, { headers: auth, timeoutMs: CLIENT_TIMEOUT_MS })],
      ['task list', () => timed(`${cluster.url}/api/v1/tasks/?project=${project.id}`, { headers: auth, timeoutMs: CLIENT_TIMEOUT_MS })],
      ['task create', () => timed(`${cluster.url}/api/v1/tasks/`, { method: 'POST', headers: auth, body: JSON.stringify({ project: project.id, title: 'During the outage' }), timeoutMs: CLIENT_TIMEOUT_MS })],
      ['org detail', () => timed(`${cluster.url}/api/v1/organizations/${org.id}/`, { headers: auth, timeoutMs: CLIENT_TIMEOUT_MS })],
      ['org rename', () => timed(`${cluster.url}/api/v1/organizations/${org.id}/`, { method: 'PATCH', headers: auth, body: JSON.stringify({ name: 'Never' }), timeoutMs: CLIENT_TIMEOUT_MS })],
      ['activity', () => timed(`${cluster.url}/api/v1/activity/?organization=${org.id}`, { headers: auth, timeoutMs: CLIENT_TIMEOUT_MS })],
      ['me', () => timed(`${cluster.url}/api/v1/auth/me/`, { headers: auth, timeoutMs: CLIENT_TIMEOUT_MS })],
      [
        'login',
        () =>
          timed(`${cluster.url}/api/v1/auth/login/`, {
            method: 'POST',
            headers: { 'content-type': 'application/json' },
            body: JSON.stringify({ email: owner.email, password: 'amber-lantern-9182' }),
            timeoutMs: CLIENT_TIMEOUT_MS,
          }),
      ],
    ];
    const answers: Array<{ probe: string; round: number; status: number; ms: number; error?: string }> = [];
    for (let round = 0; round < 3; round += 1) {
      for (const [probe, run] of probes) {
        const r = await run();
        answers.push({ probe, round, status: r.status, ms: Math.round(r.ms), error: r.error });
      }
    }
    if (process.env.FAULTS_DEBUG) console.log(answers.map((a) => `${a.probe}#${a.round}: ${a.status} ${a.ms}ms${a.error ? ` ${a.error}` : ''}`).join('\n'));
    // Every request got an answer quickly: 503 (a dependency is down, retry later), never a 200 or a 500.
    const wrong = answers.filter((a) => a.status !== 503 || a.ms > FAST_MS);
    expect(wrong).toEqual([]);

    // --- recovery
    await allowConnections(true);
    await eventually(async () => {
      const r = await readiness();
      return Object.values(r).every((s) => s === 200) ? r : false;
    }, 30_000, 200);

    const after = await eventually(async () => {
      const res = await owner.call('POST', '/api/v1/tasks/', { project: project.id, title: 'After the outage' });
      return res.status === 201 ? res : false;
    }, 10_000, 200);
    const renamed = await owner.call('PATCH', `/api/v1/organizations/${org.id}/`, { name: 'Back again' });
    expect(renamed.status).toBe(200);
    const fresh = await newAccount(cluster.url, 'Late');
    expect(fresh.id).toEqual(expect.any(String));
    const detail = await owner.call('GET', `/api/v1/tasks/${task.body.id}/`);
    expect(detail.status).toBe(200);
    expect(detail.body).toMatchObject({ id: task.body.id, title: 'Before the outage' });
    // Nothing written during the outage, and the events of the new writes flow again.
    const titles = (await owner.call('GET', `/api/v1/tasks/?project=${project.id}`)).body.results.map((t: any) => t.title).sort();
    expect(titles).toEqual(['After the outage', 'Before the outage']);
    await eventually(async () => {
      const log = await activityOf(owner, org.id);
      return log.some((e) => e.verb === 'task.created' && e.target.id === after.body.id) && log.some((e) => e.verb === 'organization.renamed');
    }, 15_000, 200);
  });
});
