// The work service is SIGKILLed in the middle of a read load through the gateway. While it is gone the
// gateway must fail fast (503 + Retry-After, nothing hanging); once work is back the gateway must
// recover by itself: 200s again and the breaker closed.
import { eventually } from '@taskflow/shared/testing';
import { type Cluster, startCluster } from './cluster';
import { boundedLoad, orgWithProject, type Timed, timed } from './helpers';

const LOOPS = 4;
const LOAD_MS = 5000;
const KILL_AFTER_MS = 1500;
const FAST_MS = 100;
const CLIENT_TIMEOUT_MS = 2000;

async function breakerState(cluster: Cluster, upstream: string): Promise<number | undefined> {
  const res = await fetch(`${cluster.metricsUrl}/metrics`, { signal: AbortSignal.timeout(2000) });
  const text = await res.text();
  // Label order is the registry's business (the service label is merged in): match the label, not the prefix.
  const line = text.split('\n').find((l) => l.startsWith('gateway_upstream_circuit_state{') && l.includes(`upstream="${upstream}"`));
  return line === undefined ? undefined : Number(line.trim().split(/\s+/).pop());
}

describe('work service killed under load', () => {
  let cluster: Cluster;

  beforeAll(async () => {
    cluster = await startCluster();
  });
  afterAll(() => cluster?.stop());

  it('answers 503 fast while work is down and recovers on its own when it is back', async () => {
    const { owner, project } = await orgWithProject(cluster.url, 'Kira');
    const task = await owner.call('POST', '/api/v1/tasks/', { project: project.id, title: 'Read me under load' });
    expect(task.status).toBe(201);
    const detail = `${cluster.url}/api/v1/tasks/${task.body.id}/`;
    const headers = { authorization: `Bearer ${owner.access}` };
    expect((await timed(detail, { headers })).status).toBe(200);
    expect(await breakerState(cluster, 'work')).toBe(0);

    const results: Timed[] = [];
    let killedAt = 0; // the process is gone from here on
    let restartingAt = 0; // from here on the answers may be 200 again
    let sawOpen = false;
    const load = boundedLoad(LOOPS, LOAD_MS, 5000, async () => {
      results.push(await timed(detail, { headers, timeoutMs: CLIENT_TIMEOUT_MS }));
    });
    const fault = (async () => {
      await new Promise((r) => setTimeout(r, KILL_AFTER_MS));
      const exit = await cluster.kill('work', 'SIGKILL');
      killedAt = Date.now();
      expect(exit.signal).toBe('SIGKILL');
      // Stay down for most of the rest of the load (watching the breaker open), then come back.
      const downUntil = Date.now() + 2000;
      while (Date.now() < downUntil) {
        if ((await breakerState(cluster, 'work')) === 2) sawOpen = true;
        await new Promise((r) => setTimeout(r, 200));
      }
      restartingAt = Date.now();
      await cluster.restart('work');
    })();
    await Promise.all([load, fault]);

    const before = results.filter((r) => r.startedAt + r.ms < killedAt - 500);
    const whileDown = results.filter((r) => r.startedAt >= killedAt && r.startedAt + r.ms < restartingAt);
    const summary = (rs: Timed[]) => {
      const byStatus: Record<string, number> = {};
      for (const r of rs) byStatus[r.status] = (byStatus[r.status] ?? 0) + 1;
      return byStatus;
    };
    // There was load before the kill and while work was down.
    expect(before.length).toBeGreaterThan(10);
    expect(before.every((r) => r.status === 200)).toBe(true);
    expect(whileDown.length).toBeGreaterThan(20);
    // Nothing hung or lost its connection: every request got an HTTP answer within the client deadline.
    const noAnswer = results.filter((r) => r.status === 0);
    expect(noAnswer).toEqual([]);
    // While down: 503 with Retry-After, each within FAST_MS.
    expect(summary(whileDown)).toEqual({ 503: whileDown.length });
    for (const r of whileDown) {
      expect(r.headers?.get('retry-after')).toMatch(/^\d+$/);
      expect(r.body).toMatchObject({ status: 503 });
    }
    const slow = whileDown.filter((r) => r.ms > FAST_MS).map((r) => Math.round(r.ms));
    if (process.env.FAULTS_DEBUG) console.log(whileDown.length, whileDown.map((r) => Math.round(r.ms)).sort((a, b) => b - a).slice(0, 15), before.length, before.map((r) => Math.round(r.ms)).sort((a, b) => b - a).slice(0, 10));
    expect(slow).toEqual([]);
    // The breaker opened on the refused connections (later answers did not even try work).
    expect(sawOpen).toBe(true);

    // Back: the gateway recovers by itself, with nothing but time and traffic.
    await eventually(async () => (await timed(detail, { headers })).status === 200, 15_000, 100);
    const after: Timed[] = [];
    for (let i = 0; i < 20; i += 1) after.push(await timed(detail, { headers }));
    expect(summary(after)).toEqual({ 200: 20 });
    expect(after[0]!.body).toMatchObject({ id: task.body.id, title: 'Read me under load' });
    expect(await breakerState(cluster, 'work')).toBe(0);
    expect((await timed(`${cluster.url}/readyz`)).status).toBe(200);
  });
});
