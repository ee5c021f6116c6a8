// Scale-out, demonstrated: two replicas of every service and two gateways as real processes (built
// dist, one database, one vhost, Redis), load spread over both gateways. Each promise of the design
// is its own test; the figures (requests served, 503s retried, duplicates, lost writes, ejection
// time) are printed for the record. `npm run build && npm run test:scale`.
import { QUEUES } from '@taskflow/shared';
import { eventually, readDevMail, request } from '@taskflow/shared/testing';
import { Client } from 'pg';
import { activityOf, countByTarget, management, newAccount, orgWithProject as orgWithProjectOnce, retryingSetup } from '../faults/helpers';
import { BACKENDS, type Instance, REPLICAS, type ScaleCluster, startScaleCluster } from './cluster';
import { type LoadStats, type LoadTarget, MixedLoad, summary } from './load';

/** The circuit state (0 closed, 2 open) one gateway reports for one endpoint of an upstream. */
async function endpointState(gateway: Instance, upstream: string, endpoint: Instance): Promise<number | undefined> {
  const res = await fetch(`${gateway.metricsUrl}/metrics`, { signal: AbortSignal.timeout(2000) });
  const line = (await res.text())
    .split('\n')
    .find((l) => l.startsWith('gateway_upstream_endpoint_circuit_state{') && l.includes(`upstream="${upstream}"`) && l.includes(`endpoint="${new URL(endpoint.url).host}"`));
  return line === undefined ? undefined : Number(line.trim().split(/\s+/).pop());
}

const orgWithProject = (gateway: string, name: string) => retryingSetup(() => orgWithProjectOnce(gateway, name));

const log = (line: string) => process.stdout.write(`[scale] ${line}\n`);

describe('two replicas of every service behind two gateways', () => {
  let cluster: ScaleCluster;
  let db: Client;
  let gatewayUrls: string[];
  /** Made before any load or restart: setup is not what these tests measure. */
  const targets: Record<'rolling' | 'killed', LoadTarget> = {} as never;

  beforeAll(async () => {
    const started = Date.now();
    cluster = await startScaleCluster();
    gatewayUrls = cluster.gateways.map((g) => g.url);
    db = new Client({ connectionString: cluster.database.url });
    await db.connect();
    log(`${cluster.instances.length} processes ready in ${((Date.now() - started) / 1000).toFixed(1)} s`);
    targets.rolling = await loadTarget('Rolling');
    targets.killed = await loadTarget('Killed');
  }, 400_000);

  afterAll(async () => {
    await db?.end();
    await cluster?.stop();
  }, 60_000);

  /** Every create that answered 2xx exists exactly once, no key made two tasks, and each updated task holds its last applied update. */
  async function expectNothingDuplicatedOrLost(stats: LoadStats, project: string): Promise<{ duplicates: number; lost: number }> {
    const { rows } = await db.query<{ title: string; n: number }>('select title, count(*)::int as n from work.tasks where project_id = $1 group by title', [project]);
    const countOf = new Map(rows.map((r) => [r.title, r.n]));
    const duplicates = stats.creates.filter((c) => (countOf.get(c.title) ?? 0) > 1);
    const lostCreates = stats.creates.filter((c) => c.status >= 200 && c.status < 300 && countOf.get(c.title) !== 1);
    const titles = await db.query<{ id: string; title: string }>('select id, title from work.tasks where id = any($1)', [[...stats.lastUpdateOf.keys()]]);
    const lostUpdates = titles.rows.filter((t) => stats.lastUpdateOf.get(t.id) !== t.title);
    expect(duplicates).toEqual([]);
    expect(lostCreates).toEqual([]);
    expect(lostUpdates).toEqual([]);
    return { duplicates: duplicates.length, lost: lostCreates.length + lostUpdates.length };
  }

  /** Nothing left to publish, send or consume: whatever happened has happened. */
  async function quiet(): Promise<void> {
    const mq = management();
    await eventually(
      async () => {
        for (const { service } of BACKENDS) {
          const { rows } = await db.query(`select count(*)::int as n from ${service}.outbox where published_at is null`).catch(() => ({ rows: [{ n: 0 }] }));
          if (rows[0].n > 0) return false;
        }
        const { rows } = await db.query('select count(*)::int as n from tenancy.mail_outbox where sent_at is null');
        if (rows[0].n > 0) return false;
        return (await mq.queuesOf(cluster.vhost.name)).every((q) => q.messages === 0);
      },
      30_000,
      200,
    );
  }

  it('migrated each schema exactly once when every replica started at once on the empty database', async () => {
    // Each service's schema is named after it; every replica is ready, so every migration ran (or the start failed).
    for (const { service: schema } of BACKENDS) {
      const { rows } = await db.query<{ name: string; n: number }>(`select name, count(*)::int as n from ${schema}.knex_migrations group by name order by name`);
      expect(rows.length).toBeGreaterThan(0);
      expect(rows.filter((r) => r.n !== 1)).toEqual([]);
      const lock = await db.query(`select is_locked from ${schema}.knex_migrations_lock`);
      expect(lock.rows).toEqual([{ is_locked: 0 }]);
    }
    // Both replicas of each service started and answered /readyz: one migrated, the other found nothing left to do.
    for (const instance of cluster.instances) expect(cluster.running(instance.name)).toBe(true);
  });

  it('records every event exactly once with two relays and two consumers per queue', async () => {
    // The management API reports consumers with its next statistics (every few seconds).
    const consumers = async () => {
      const queues = await management().queuesOf(cluster.vhost.name);
      return Object.values(QUEUES).map(({ name }) => ({ name, consumers: queues.find((q) => q.name === name)?.consumers }));
    };
    await eventually(async () => (await consumers()).every((q) => q.consumers === REPLICAS), 20_000, 250).catch(() => undefined);
    for (const queue of await consumers()) expect(queue).toEqual({ name: queue.name, consumers: REPLICAS });

    const { owner, org, project } = await orgWithProject(gatewayUrls[0]!, 'Events');
    const via = (i: number) => gatewayUrls[i % gatewayUrls.length]!;
    const ids: string[] = [];
    for (let i = 0; i < 24; i += 1) {
      const created = await request(via(i), 'POST', '/api/v1/tasks/', { token: owner.access, body: { project: project.id, title: `event ${i}` } });
      expect(created.status).toBe(201);
      ids.push(created.body.id);
    }
    for (const [i, id] of ids.entries()) {
      const updated = await request(via(i + 1), 'PATCH', `/api/v1/tasks/${id}/`, { token: owner.access, body: { status: 'in_progress' } });
      expect(updated.status).toBe(200);
    }
    await eventually(async () => {
      const counts = countByTarget(await activityOf(owner, org.id));
      return ids.every((id) => counts.get(`task.created ${id}`) && counts.get(`task.updated ${id}`));
    }, 30_000, 200);
    await quiet();
    const counts = countByTarget(await activityOf(owner, org.id));
    for (const id of ids) {
      expect({ id, created: counts.get(`task.created ${id}`), updated: counts.get(`task.updated ${id}`) }).toEqual({ id, created: 1, updated: 1 });
    }
    log(`events: ${ids.length} creates and ${ids.length} updates through both gateways, each in the activity log exactly once`);
  }, 90_000);

  it('sends each invite mail exactly once with two tenancy mailers', async () => {
    const { owner, org } = await orgWithProject(gatewayUrls[1]!, 'Invites');
    const invited = Array.from({ length: 8 }, (_, i) => `invited.${i}.${Date.now().toString(36)}@example.com`);
    for (const [i, email] of invited.entries()) {
      const sent = await request(gatewayUrls[i % 2]!, 'POST', '/api/v1/invites/', { token: owner.access, body: { organization: org.id, email, role: 'member' } });
      expect(sent.status).toBe(201);
    }
    await eventually(async () => {
      const mail = await readDevMail(cluster.mailDir);
      return invited.every((email) => mail.some((m) => m.to.toLowerCase() === email));
    }, 30_000, 200);
    await quiet();
    const mail = await readDevMail(cluster.mailDir);
    for (const email of invited) expect({ email, sent: mail.filter((m) => m.to.toLowerCase() === email).length }).toEqual({ email, sent: 1 });
  }, 60_000);

  it('locks an email out after 10 failed logins counted across both gateways: the 11th is 429 on either', async () => {
    const victim = await retryingSetup(() => newAccount(gatewayUrls[0]!, 'Lockout'));
    const from = { 'x-forwarded-for': '198.51.100.7' };
    const login = (gateway: string, password: string) => request(gateway, 'POST', '/api/v1/auth/login/', { body: { email: victim.email, password }, headers: from });
    for (let i = 0; i < 10; i += 1) expect((await login(gatewayUrls[i % 2]!, 'not-the-password')).status).toBe(401);
    for (const gateway of gatewayUrls) {
      const refused = await login(gateway, 'amber-lantern-9182');
      expect(refused.status).toBe(429);
      expect(Number(refused.headers.get('retry-after'))).toBeGreaterThan(0);
    }
  }, 60_000);

  it('holds the per-address auth limit across both gateways: the 61st credential request is 429 on either', async () => {
    const from = { 'x-forwarded-for': '198.51.100.8' };
    const refresh = (gateway: string) => request(gateway, 'POST', '/api/v1/auth/refresh/', { body: { refresh: 'not-a-token' }, headers: from });
    for (let i = 0; i < 60; i += 1) expect((await refresh(gatewayUrls[i % 2]!)).status).not.toBe(429);
    for (const gateway of gatewayUrls) expect((await refresh(gateway)).status).toBe(429);
    // Another address is not affected.
    expect((await request(gatewayUrls[0]!, 'POST', '/api/v1/auth/refresh/', { body: { refresh: 'not-a-token' }, headers: { 'x-forwarded-for': '198.51.100.9' } })).status).not.toBe(429);
  }, 60_000);

  /** An owner, a project, a task to read and one task per updater. */
  async function loadTarget(name: string): Promise<LoadTarget> {
    const { owner, org, project } = await orgWithProject(gatewayUrls[0]!, name);
    const task = async (title: string) => {
      const res = await owner.call('POST', '/api/v1/tasks/', { project: project.id, title });
      expect(res.status).toBe(201);
      return res.body.id as string;
    };
    return { token: owner.access, organization: org.id, project: project.id, readTask: await task('read me'), updateTasks: [await task('updated a'), await task('updated b')] };
  }

  /** Both gateways have the endpoint back in rotation (its breaker closed after a trial request). */
  async function backInRotation(instance: Instance): Promise<void> {
    await eventually(async () => {
      for (const gateway of cluster.gateways) if ((await endpointState(gateway, instance.service, instance)) !== 0) return false;
      return true;
    }, 20_000, 50);
  }

  it('loses nothing through a rolling SIGTERM restart of every replica and each gateway under mixed load', async () => {
    const target = targets.rolling;
    const load = new MixedLoad(gatewayUrls, target);
    load.start({ readers: 2, creators: 2 });
    const started = Date.now();
    try {
      for (const instance of cluster.instances) {
        const stepStarted = Date.now();
        const exit = await cluster.kill(instance.name, 'SIGTERM');
        expect({ instance: instance.name, code: exit.code }).toEqual({ instance: instance.name, code: 0 });
        const stoppedAt = Date.now();
        await cluster.restart(instance.name);
        const readyAt = Date.now();
        if (instance.service !== 'gateway') await backInRotation(instance);
        log(`  ${instance.name}: stopped in ${exit.ms} ms, ready ${readyAt - stoppedAt} ms later, back in rotation after ${Date.now() - readyAt} ms (${Date.now() - stepStarted} ms in all); ${load.stats.served} served so far`);
      }
      // A little load with everything back.
      const served = load.stats.served;
      await eventually(() => load.stats.served > served + 20, 20_000, 50);
    } finally {
      await load.stop();
    }
    const stats = load.stats;
    log(`rolling restart of ${cluster.instances.length} processes in ${((Date.now() - started) / 1000).toFixed(1)} s: ${summary(stats)}`);
    expect(stats.serverErrors).toEqual([]);
    expect(stats.hung).toBe(0);
    expect(stats.readFailures).toEqual([]);
    expect(stats.givenUp).toEqual([]);
    expect(stats.creates.filter((c) => c.status >= 200 && c.status < 300).length).toBeGreaterThan(10);
    expect(stats.updatesApplied).toBeGreaterThan(10);
    await quiet();
    const { duplicates, lost } = await expectNothingDuplicatedOrLost(stats, target.project);
    log(`rolling restart: duplicates found ${duplicates}, lost writes ${lost}`);
  }, 1_200_000);

  it('keeps serving when a work replica is SIGKILLed mid-load, ejecting it within a second, and loses nothing committed', async () => {
    const target = targets.killed;
    const [victim] = cluster.replicasOf('work');
    const load = new MixedLoad(gatewayUrls, target);
    load.start({ readers: 2, creators: 2 });
    let ejectedMs: number[] = [];
    try {
      await eventually(() => load.stats.served > 30, 20_000, 20);
      await cluster.kill(victim!.name, 'SIGKILL');
      const killedAt = Date.now();
      // Each gateway takes the dead endpoint out of rotation on the first refused connection.
      ejectedMs = await Promise.all(
        cluster.gateways.map(async (gateway) => {
          await eventually(async () => (await endpointState(gateway, 'work', victim!)) === 2, 5000, 20);
          return Date.now() - killedAt;
        }),
      );
      const served = load.stats.served;
      await eventually(() => load.stats.served > served + 40, 20_000, 50);
    } finally {
      await load.stop();
    }
    const stats = load.stats;
    log(`kill: work replica ejected by the gateways ${ejectedMs.map((ms) => `${ms} ms`).join(', ')} after SIGKILL; ${summary(stats)}`);
    for (const ms of ejectedMs) expect(ms).toBeLessThan(1000);
    expect(stats.serverErrors).toEqual([]);
    expect(stats.hung).toBe(0);
    expect(stats.readFailures).toEqual([]);
    expect(stats.givenUp).toEqual([]);
    await quiet();
    const { duplicates, lost } = await expectNothingDuplicatedOrLost(stats, target.project);
    log(`kill: duplicates found ${duplicates}, lost writes ${lost}`);
    await cluster.restart(victim!.name);
  }, 120_000);
});
