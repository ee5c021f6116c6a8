// The fair queue's bookkeeping, alone: caps, bounded queues, round-robin turns, aborted waits.
import { FairQueue, NotAdmitted, type Release } from '../src/http/fair-queue';

/** Records which acquisitions were admitted, in order, without awaiting them one by one. */
function tracker(queue: FairQueue) {
  const admitted: string[] = [];
  const releases = new Map<string, Release>();
  const refused = new Map<string, NotAdmitted>();
  const acquire = (tenant: string, label: string, signal?: AbortSignal) =>
    queue.acquire(tenant, signal).then(
      (release) => {
        admitted.push(label);
        releases.set(label, release);
      },
      (err: NotAdmitted) => {
        refused.set(label, err);
      },
    );
  const release = async (label: string) => {
    releases.get(label)!();
    await flush();
  };
  return { admitted, refused, acquire, release };
}

/** Lets settled promises' callbacks run. */
const flush = () => new Promise<void>((resolve) => setImmediate(resolve));

describe('FairQueue', () => {
  it('admits a tenant up to its cap at once and queues the rest', async () => {
    const queue = new FairQueue({ perTenant: 2, total: 10, queuePerTenant: 5 });
    const t = tracker(queue);
    for (const label of ['a1', 'a2', 'a3']) void t.acquire('a', label);
    await flush();
    expect(t.admitted).toEqual(['a1', 'a2']);
    expect(queue.load('a')).toEqual({ running: 2, waiting: 1 });
    expect(queue.mustWait('a')).toBe(true);
    await t.release('a1');
    expect(t.admitted).toEqual(['a1', 'a2', 'a3']);
  });

  it("admits another tenant at once while one tenant is at its cap with a queue", async () => {
    const queue = new FairQueue({ perTenant: 2, total: 10, queuePerTenant: 5 });
    const t = tracker(queue);
    for (let i = 1; i <= 6; i += 1) void t.acquire('a', `a${i}`);
    void t.acquire('b', 'b1');
    await flush();
    expect(t.admitted).toEqual(['a1', 'a2', 'b1']);
    expect(queue.mustWait('b')).toBe(false);
    expect(queue).toMatchObject({ running: 3, waiting: 4 });
  });

  it('refuses a request beyond the tenant queue bound, and only that tenant', async () => {
    const queue = new FairQueue({ perTenant: 1, total: 10, queuePerTenant: 2 });
    const t = tracker(queue);
    for (let i = 1; i <= 4; i += 1) void t.acquire('a', `a${i}`);
    void t.acquire('b', 'b1');
    await flush();
    expect(t.admitted).toEqual(['a1', 'b1']);
    expect([...t.refused.keys()]).toEqual(['a4']);
    expect(t.refused.get('a4')).toMatchObject({ reason: 'queue_full', tenantAtCap: true });
    expect(queue.load('a')).toEqual({ running: 1, waiting: 2 });
  });

  it('serves waiting tenants in turn when the process is full, whatever their queue lengths', async () => {
    const queue = new FairQueue({ perTenant: 3, total: 3, queuePerTenant: 10 });
    const t = tracker(queue);
    for (let i = 1; i <= 3; i += 1) void t.acquire('a', `a${i}`); // a fills the process
    for (let i = 4; i <= 9; i += 1) void t.acquire('a', `a${i}`); // and queues six more
    void t.acquire('b', 'b1');
    void t.acquire('b', 'b2');
    void t.acquire('c', 'c1');
    await flush();
    expect(t.admitted).toEqual(['a1', 'a2', 'a3']);
    // Each freed slot goes to the next tenant in turn: a (queued first), b, c, a, b, a ...
    for (const label of ['a1', 'a2', 'a3', 'a4', 'b1', 'c1']) await t.release(label);
    expect(t.admitted.slice(3)).toEqual(['a4', 'b1', 'c1', 'a5', 'b2', 'a6']);
  });

  it('skips a tenant at its own cap when handing out a freed slot', async () => {
    const queue = new FairQueue({ perTenant: 1, total: 2, queuePerTenant: 10 });
    const t = tracker(queue);
    void t.acquire('a', 'a1');
    void t.acquire('b', 'b1');
    void t.acquire('a', 'a2');
    void t.acquire('c', 'c1');
    await flush();
    expect(t.admitted).toEqual(['a1', 'b1']);
    // b's slot frees: a is first in turn but at its cap (a1 runs), so c gets it.
    await t.release('b1');
    expect(t.admitted).toEqual(['a1', 'b1', 'c1']);
    await t.release('a1');
    expect(t.admitted).toEqual(['a1', 'b1', 'c1', 'a2']);
  });

  it('drops an aborted wait from the queue (its slot goes to the next), and reports whose load it was', async () => {
    const queue = new FairQueue({ perTenant: 1, total: 10, queuePerTenant: 5 });
    const t = tracker(queue);
    const gone = new AbortController();
    void t.acquire('a', 'a1');
    void t.acquire('a', 'a2', gone.signal);
    void t.acquire('a', 'a3');
    await flush();
    gone.abort(new Error('client gone'));
    await flush();
    expect(t.refused.get('a2')).toMatchObject({ reason: 'aborted', tenantAtCap: true });
    expect(queue.load('a')).toEqual({ running: 1, waiting: 1 });
    await t.release('a1');
    expect(t.admitted).toEqual(['a1', 'a3']);
  });

  it('refuses at once a request whose signal is already aborted, and ignores an abort after admission', async () => {
    const queue = new FairQueue({ perTenant: 1, total: 10, queuePerTenant: 5 });
    const t = tracker(queue);
    void t.acquire('a', 'a1');
    void t.acquire('a', 'a2', AbortSignal.abort());
    const late = new AbortController();
    void t.acquire('a', 'a3', late.signal);
    await flush();
    expect(t.refused.get('a2')).toMatchObject({ reason: 'aborted' });
    await t.release('a1');
    late.abort();
    await flush();
    expect(t.admitted).toEqual(['a1', 'a3']);
    expect(t.refused.has('a3')).toBe(false);
  });

  it('tells an abort caused by a full process (503) from one caused by the tenant (429)', async () => {
    const queue = new FairQueue({ perTenant: 2, total: 2, queuePerTenant: 5 });
    const t = tracker(queue);
    void t.acquire('a', 'a1');
    void t.acquire('a', 'a2');
    const wait = new AbortController();
    void t.acquire('b', 'b1', wait.signal);
    await flush();
    wait.abort();
    await flush();
    expect(t.refused.get('b1')).toMatchObject({ reason: 'aborted', tenantAtCap: false });
  });

  it('counts a release once, and forgets idle tenants', async () => {
    const queue = new FairQueue({ perTenant: 1, total: 1, queuePerTenant: 1 });
    const release = await queue.acquire('a');
    release();
    release();
    expect(queue).toMatchObject({ running: 0, waiting: 0 });
    expect((queue as unknown as { tenants: Map<string, unknown> }).tenants.size).toBe(0);
    const again = await queue.acquire('b');
    expect(queue.running).toBe(1);
    again();
  });

  it('lets a lone tenant run up to `alone`, keeps the rest free for a newcomer, and holds it to its cap once another tenant comes', async () => {
    let clock = 10_000;
    const queue = new FairQueue({ perTenant: 2, total: 4, queuePerTenant: 10, alone: 3, now: () => clock });
    const t = tracker(queue);
    for (const label of ['a1', 'a2', 'a3', 'a4', 'a5']) void t.acquire('a', label);
    await flush();
    expect(t.admitted).toEqual(['a1', 'a2', 'a3']);
    void t.acquire('b', 'b1');
    await flush();
    expect(t.admitted).toEqual(['a1', 'a2', 'a3', 'b1']);
    // a is over its cap of 2 now that b is here: a freed slot of a's goes to nobody until a is under 2.
    await t.release('a1');
    expect(t.admitted).toHaveLength(4);
    await t.release('a2');
    expect(t.admitted).toEqual(['a1', 'a2', 'a3', 'b1', 'a4']);
    // b gone: a is alone again, but borrows only once it has been alone for the quiet period.
    await t.release('b1');
    expect(t.admitted).toEqual(['a1', 'a2', 'a3', 'b1', 'a4']);
    clock += 999;
    await t.release('a3');
    void t.acquire('a', 'a6');
    await flush();
    expect(t.admitted).toEqual(['a1', 'a2', 'a3', 'b1', 'a4', 'a5']);
    clock += 1;
    await t.release('a4');
    expect(t.admitted).toEqual(['a1', 'a2', 'a3', 'b1', 'a4', 'a5', 'a6']);
  });

  it("does not let a tenant borrow in the gaps between another tenant's requests", async () => {
    let clock = 10_000;
    const queue = new FairQueue({ perTenant: 1, total: 3, queuePerTenant: 10, alone: 2, now: () => clock });
    const t = tracker(queue);
    void t.acquire('a', 'a1');
    void t.acquire('a', 'a2');
    await flush();
    expect(t.admitted).toEqual(['a1', 'a2']);
    await t.release('a2');
    // b comes and goes every 100 ms: a stays at its share of 1 meanwhile.
    for (let i = 0; i < 5; i += 1) {
      void t.acquire('b', `b${i}`);
      await flush();
      clock += 100;
      await t.release(`b${i}`);
      void t.acquire('a', `a-gap${i}`);
      await flush();
    }
    expect(t.admitted.filter((label) => label.startsWith('a-gap'))).toEqual([]);
    clock += 1000;
    await t.release('a1');
    expect(t.admitted.filter((label) => label.startsWith('a-gap'))).toEqual(['a-gap0', 'a-gap1']);
  });

  it('refuses an `alone` outside perTenant..total', () => {
    expect(() => new FairQueue({ perTenant: 2, total: 4, queuePerTenant: 1, alone: 1 })).toThrow(/alone/);
    expect(() => new FairQueue({ perTenant: 2, total: 4, queuePerTenant: 1, alone: 5 })).toThrow(/alone/);
    expect(new FairQueue({ perTenant: 2, total: 4, queuePerTenant: 1 }).limits.alone).toBe(2);
  });

  it('refuses limits that are not positive integers (a queue of 0 is allowed: no waiting)', () => {
    expect(() => new FairQueue({ perTenant: 0, total: 1, queuePerTenant: 1 })).toThrow(/perTenant/);
    expect(() => new FairQueue({ perTenant: 1, total: 1.5, queuePerTenant: 1 })).toThrow(/total/);
    expect(() => new FairQueue({ perTenant: 1, total: 1, queuePerTenant: 0 })).not.toThrow();
  });
});
