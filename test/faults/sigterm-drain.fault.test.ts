// The work service gets SIGTERM in the middle of a burst of task creates (each with its own
// Idempotency-Key). What it had accepted must complete, it must exit 0 within 10 s, what the
// gateway refused (503) must be safely retryable with the same key after a restart, and every task
// that exists must have exactly one `task.created` in the activity log (no row without its event).
import { eventually } from '@taskflow/shared/testing';
import { type Cluster, type Exit, startCluster } from './cluster';
import { activityOf, boundedLoad, countByTarget, orgWithProject, tasksOf, timed } from './helpers';

const LOOPS = 6;
const TERM_AFTER_MS = 1000;
const MAX_LOAD_MS = 6000;
const CLIENT_TIMEOUT_MS = 12_000;

interface Attempt {
  key: string;
  title: string;
  status: number;
  id?: string;
  code?: string;
  error?: string;
  startedAt: number;
}

describe('SIGTERM during load', () => {
  let cluster: Cluster;

  beforeAll(async () => {
    cluster = await startCluster();
  });
  afterAll(() => cluster?.stop());

  it('drains in-flight creates, exits 0 in time, and leaves nothing half-written or doubled', async () => {
    const { owner, org, project } = await orgWithProject(cluster.url, 'Tess');
    const run = `${Date.now().toString(36)}`;
    const create = (key: string, title: string) =>
      timed(`${cluster.url}/api/v1/tasks/`, {
        method: 'POST',
        headers: { authorization: `Bearer ${owner.access}`, 'content-type': 'application/json', 'idempotency-key': key },
        body: JSON.stringify({ project: project.id, title }),
        timeoutMs: CLIENT_TIMEOUT_MS,
      });

    const attempts: Attempt[] = [];
    let exitedAt = 0;
    let signalledAt = 0;
    const load = boundedLoad(LOOPS, MAX_LOAD_MS, 500, async (loop, i) => {
      // A little load after work is gone, then stop.
      if (exitedAt && Date.now() > exitedAt + 500) return;
      const key = `sigterm-${run}-${loop}-${i}`;
      const title = `Load ${loop}-${i}`;
      const r = await create(key, title);
      attempts.push({ key, title, status: r.status, id: r.body?.id, code: r.body?.code, error: r.error, startedAt: r.startedAt });
    });
    const fault = (async (): Promise<Exit> => {
      await new Promise((r) => setTimeout(r, TERM_AFTER_MS));
      signalledAt = Date.now();
      const exit = await cluster.kill('work', 'SIGTERM');
      exitedAt = Date.now();
      return exit;
    })();
    const [, exit] = await Promise.all([load, fault]);

    // The process drained and exited cleanly, in time.
    expect({ code: exit.code, signal: exit.signal }).toEqual({ code: 0, signal: null });
    expect(exit.ms).toBeLessThan(10_000);
    const logs = cluster.logs('work', 50).join('\n');
    expect(logs).toContain('"msg":"stopped"');

    // Every request got an HTTP answer from the gateway: created, or 503 from the gateway.
    const statuses: Record<string, number> = {};
    for (const a of attempts) statuses[a.status] = (statuses[a.status] ?? 0) + 1;
    expect(attempts.filter((a) => a.status !== 201 && a.status !== 503)).toEqual([]);
    expect(attempts.filter((a) => a.status === 201).length).toBeGreaterThan(10);
    expect(attempts.filter((a) => a.status === 503).length).toBeGreaterThan(0);
    if (process.env.FAULTS_DEBUG) console.log({ statuses, exit, inFlightAtSignal: attempts.filter((a) => a.startedAt < signalledAt && a.status === 201).length });

    await cluster.restart('work');

    // A 503 means the request was not accepted: no task may exist for it (before any retry).
    // The gateway's breaker may still be open for a moment after work is back: read once it closes.
    const existing = await eventually(() => tasksOf(owner, project.id), 15_000, 100);
    const byTitle = new Map<string, any[]>();
    for (const t of existing) byTitle.set(t.title, [...(byTitle.get(t.title) ?? []), t]);
    const refusedButWritten = attempts.filter((a) => a.status === 503 && byTitle.has(a.title)).map((a) => a.key);
    expect(refusedButWritten).toEqual([]);
    // Every 201 exists, once.
    for (const a of attempts.filter((x) => x.status === 201)) {
      expect({ key: a.key, ids: (byTitle.get(a.title) ?? []).map((t) => t.id) }).toEqual({ key: a.key, ids: [a.id] });
    }

    // The refused ones, retried with the same key once work is back (the breaker may need a moment).
    for (const a of attempts.filter((x) => x.status === 503)) {
      const retried = await eventually(async () => {
        const r = await create(a.key, a.title);
        return r.status === 201 ? r : false;
      }, 15_000, 100);
      a.status = 201;
      a.id = retried.body.id;
    }
    // Replaying a 201 with its key gives the same task, not a new one.
    const sample = attempts.find((a) => a.status === 201)!;
    const replay = await create(sample.key, sample.title);
    expect({ status: replay.status, id: replay.body?.id }).toEqual({ status: 201, id: sample.id });
    expect(replay.headers?.get('idempotent-replayed')).toBe('true');

    // Exactly one task per key, nothing else.
    const tasks = await tasksOf(owner, project.id);
    expect(tasks.map((t) => t.id).sort()).toEqual(attempts.map((a) => a.id).sort());
    expect(new Set(tasks.map((t) => t.title)).size).toBe(attempts.length);

    // Every task row has its event: each appears exactly once in the activity log.
    const expected = tasks.map((t) => `task.created ${t.id}`);
    const counts = await eventually(async () => {
      const c = countByTarget(await activityOf(owner, org.id));
      return expected.every((k) => c.has(k)) ? c : false;
    }, 20_000, 200);
    expect(expected.filter((k) => counts.get(k) !== 1)).toEqual([]);
    expect([...counts.keys()].filter((k) => k.startsWith('task.created')).length).toBe(tasks.length);
  });
});
