// Revocation lag: from the 204 of a member's removal to the first 404 that member gets from each
// service that keeps a membership replica (work, audit), with two replicas of every service and two
// gateways (the scale test's cluster: test/scale/cluster.ts), idle and then under a steady mixed load
// over both gateways, in the same run.
//   npm run build && npx tsx bench/revocation-lag.ts      (SAMPLES=40 per phase, PROBE_INTERVAL_MS=5)
// Each replica of work and audit is probed straight (GET of a project / of the organization's
// activity with the removed member's token, one request in flight per replica, a new one every
// PROBE_INTERVAL_MS (5) at most); a service's lag is when its LAST replica answered 404, i.e. when the
// removal held everywhere in it. A probe only sees the change if it read after it, so the first 404's
// answer comes up to two probe round trips (plus the interval) after the change itself: the table gives
// that time, what a client saw, as "first 404", and beside it "not before", when the last probe still
// answering 200 was sent (the change came after that probe read). The change lies between the two.
// Prints one markdown table on stdout (progress on stderr). Loopback only.
import { request, waitForMailTo } from '@taskflow/shared/testing';
import { startScaleCluster, type Instance, type ScaleCluster } from '../test/scale/cluster';
import { orgWithProject, retryingSetup } from '../test/faults/helpers';
import { MixedLoad } from '../test/scale/load';

process.env.TEST_DATABASE_URL ??= process.env.BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
process.env.TEST_AMQP_URL ??= process.env.BENCH_AMQP_URL ?? 'amqp://guest:guest@127.0.0.1:5672';
const SAMPLES = Number(process.env.SAMPLES ?? 40);
/** Members taking turns (each joins and is removed again, SAMPLES / MEMBERS times). */
const MEMBERS = 4;
/** A probe that sees no 404 within this long counts the removal as not taking effect. */
const GIVE_UP_MS = 10_000;
/**
 * A replica's probes start at least this far apart (0: back to back). Back to back, the four probe loops
 * (two replicas each of work and audit) sent hundreds of requests a second on a quiet machine, a load of
 * their own on the two cores that the relay, RabbitMQ and the consumers need in that very window.
 */
const PROBE_INTERVAL_MS = Number(process.env.PROBE_INTERVAL_MS ?? 5);

const say = (msg: string) => process.stderr.write(`[bench] ${msg}\n`);
const PASSWORD = 'amber-lantern-9182';

interface Member {
  id: string;
  email: string;
  access: string;
}

async function verifiedMember(cluster: ScaleCluster, gateway: string, n: number): Promise<Member> {
  const email = `revoked.${n}.${Date.now().toString(36)}@example.com`;
  const registered = await request(gateway, 'POST', '/api/v1/auth/register/', { body: { email, password: PASSWORD, first_name: 'Revoked', last_name: `${n}` } });
  if (registered.status !== 201) throw new Error(`register: ${registered.status} `);
  const { match } = await waitForMailTo(cluster.mailDir, email, /\/api\/v1\/auth\/verify-email\/([A-Za-z0-9_-]{43})\//, 30_000);
  const verified = await request(gateway, 'POST', `/api/v1/auth/verify-email/${match[1]}/`);
  if (verified.status !== 200) throw new Error(`verify: ${verified.status}`);
  const login = await request(gateway, 'POST', '/api/v1/auth/login/', { body: { email, password: PASSWORD } });
  if (login.status !== 200) throw new Error(`login: ${login.status}`);
  return { id: registered.body.id, email, access: login.body.access };
}

/** What the member asks each replica: a project of the organization (work), its activity (audit). */
const probePath = (service: string, org: string, project: string) => (service === 'work' ? `/api/v1/projects/${project}/` : `/api/v1/activity/?organization=${org}&limit=1`);

/** One probe: its status and when it was sent and answered (performance.now()). */
interface Probe {
  status: number;
  sentAt: number;
  answeredAt: number;
}

async function probe(replica: Instance, path: string, token: string): Promise<Probe> {
  const sentAt = performance.now();
  let status = 0;
  try {
    const res = await fetch(`${replica.url}${path}`, { headers: { authorization: `Bearer ${token}` }, signal: AbortSignal.timeout(5000) });
    await res.arrayBuffer();
    status = res.status;
  } catch {
    /* counted as not yet */
  }
  return { status, sentAt, answeredAt: performance.now() };
}

/**
 * When `replica` first answered `status`, bracketed: the change had not happened when the previous probe
 * (the last one answering otherwise) was sent, `notBefore`, since that probe read the state after it was
 * sent, and had happened when the first probe answering `status` came back, `answeredAt`. The gap is
 * the probe's own round trip, up to two of them.
 */
interface FirstAnswer {
  answeredAt: number;
  notBefore: number;
}

/** Polls until `replica` answers `status` (one request in flight, PROBE_INTERVAL_MS apart at least). `took` collects every probe's round trip. */
async function firstAnswer(replica: Instance, path: string, token: string, status: number, stopped: () => boolean, took?: number[]): Promise<FirstAnswer> {
  const deadline = Date.now() + GIVE_UP_MS;
  let notBefore = performance.now();
  while (!stopped() && Date.now() < deadline) {
    const p = await probe(replica, path, token);
    took?.push(p.answeredAt - p.sentAt);
    if (p.status === status) return { answeredAt: p.answeredAt, notBefore };
    notBefore = p.sentAt;
    const wait = p.sentAt + PROBE_INTERVAL_MS - performance.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
  }
  throw new Error(`${replica.name} ${path}: no ${status} within ${GIVE_UP_MS} ms`);
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

async function main(): Promise<void> {
  say('starting two replicas of every service and two gateways');
  const cluster = await startScaleCluster({ logLevel: 'warn' });
  const stop = async () => {
    await cluster.stop().catch((err) => say(`stop: ${(err as Error).message}`));
  };
  process.once('SIGINT', () => void stop().then(() => process.exit(130)));
  try {
    const [gatewayA, gatewayB] = cluster.gateways.map((g) => g.url) as [string, string];
    const { owner, org, project } = await retryingSetup(() => orgWithProject(gatewayA, 'Revoker'));
    const members: Member[] = [];
    for (let n = 0; n < MEMBERS; n += 1) members.push(await retryingSetup(() => verifiedMember(cluster, n % 2 ? gatewayB : gatewayA, n)));
    const replicas = ['work', 'audit'].map((service) => ({ service, replicas: cluster.replicasOf(service as 'work' | 'audit') }));

    /** A removal's lag on one service: when its last replica answered 404, and the bound below which it cannot lie. */
    interface Lag {
      firstNotFound: number;
      notBefore: number;
    }
    const sample = async (i: number, took: number[]): Promise<Record<string, Lag>> => {
      const member = members[i % MEMBERS]!;
      const gateway = i % 2 ? gatewayB : gatewayA;
      const invite = await owner.call('POST', '/api/v1/invites/', { organization: org.id, email: member.email, role: 'member' });
      if (invite.status !== 201) throw new Error(`invite: ${invite.status} ${JSON.stringify(invite.body)}`);
      const accepted = await request(gateway, 'POST', `/api/v1/invites/accept/${encodeURIComponent(invite.body.token)}/`, { token: member.access });
      if (accepted.status !== 200) throw new Error(`accept: ${accepted.status} ${JSON.stringify(accepted.body)}`);
      // A member everywhere first (read-through makes a new membership usable at once).
      for (const { service, replicas: list } of replicas) {
        for (const replica of list) await firstAnswer(replica, probePath(service, org.id, project.id), member.access, 200, () => false);
      }
      let done = false;
      const probes = replicas.map(({ service, replicas: list }) =>
        Promise.all(list.map((replica) => firstAnswer(replica, probePath(service, org.id, project.id), member.access, 404, () => done, took))).then((answers) => ({
          service,
          // The service's lag is its last replica's: the removal held everywhere in it from then on.
          answeredAt: Math.max(...answers.map((a) => a.answeredAt)),
          notBefore: Math.max(...answers.map((a) => a.notBefore)),
        })),
      );
      const removed = await request(gateway, 'DELETE', `/api/v1/organizations/${org.id}/members/${member.id}/`, { token: owner.access });
      const removedAt = performance.now();
      if (removed.status !== 204) {
        done = true;
        throw new Error(`remove: ${removed.status} ${JSON.stringify(removed.body)}`);
      }
      const results = await Promise.all(probes);
      done = true;
      // A 404 that arrived before the 204 reached the client counts as no lag at all.
      return Object.fromEntries(
        results.map(({ service, answeredAt, notBefore }) => [service, { firstNotFound: Math.max(0, answeredAt - removedAt), notBefore: Math.max(0, notBefore - removedAt) }]),
      );
    };

    interface PhaseResult {
      lags: Record<string, Lag[]>;
      /** Every probe's round trip during the phase (ms). */
      took: number[];
    }
    const phase = async (name: string): Promise<PhaseResult> => {
      const result: PhaseResult = { lags: { work: [], audit: [] }, took: [] };
      for (let i = 0; i < SAMPLES; i += 1) {
        const one = await sample(i, result.took);
        for (const [service, lag] of Object.entries(one)) result.lags[service]!.push(lag);
      }
      say(`${name}: ${SAMPLES} removals measured`);
      return result;
    };

    const idle = await phase('idle');
    const load = new MixedLoad([gatewayA, gatewayB], {
      token: owner.access,
      organization: org.id,
      project: project.id,
      readTask: (await owner.call('POST', '/api/v1/tasks/', { project: project.id, title: 'read me' })).body.id,
      updateTasks: [(await owner.call('POST', '/api/v1/tasks/', { project: project.id, title: 'updated' })).body.id],
    });
    const loadStarted = performance.now();
    load.start({ readers: 3, creators: 2 });
    let loaded: PhaseResult;
    try {
      loaded = await phase('under load');
    } finally {
      await load.stop();
    }
    const loadSeconds = (performance.now() - loadStarted) / 1000;
    const creates = load.stats.creates.length;

    const f = (ms: number) => ms.toFixed(1);
    const sorted = (xs: number[]) => [...xs].sort((x, y) => x - y);
    const lines = [
      `SAMPLES=${SAMPLES} removals per phase, PROBE_INTERVAL_MS=${PROBE_INTERVAL_MS}, two replicas of every service and two gateways; under load: ` +
        `${(load.stats.served / loadSeconds).toFixed(0)} req/s of mixed reads, creates and updates over both gateways (${creates} creates, ${load.stats.updatesApplied} updates).`,
      '',
      '| service | phase | first 404 p50 ms | p99 ms | max ms | not before p50 ms | p99 ms | probe round trip p50 ms | first 404 p99 vs idle |',
      '|---|---|---:|---:|---:|---:|---:|---:|---:|',
    ];
    const idleTook = percentile(sorted(idle.took), 50);
    const loadTook = percentile(sorted(loaded.took), 50);
    for (const service of ['work', 'audit']) {
      const idleP99 = percentile(sorted(idle.lags[service]!.map((l) => l.firstNotFound)), 99);
      for (const [name, { lags }, took] of [['idle', idle, idleTook], ['under load', loaded, loadTook]] as const) {
        const upper = sorted(lags[service]!.map((l) => l.firstNotFound));
        const lower = sorted(lags[service]!.map((l) => l.notBefore));
        const ratio = percentile(upper, 99) / Math.max(0.1, idleP99);
        lines.push(
          `| ${service} | ${name} | ${f(percentile(upper, 50))} | ${f(percentile(upper, 99))} | ${f(upper.at(-1)!)} | ${f(percentile(lower, 50))} | ${f(percentile(lower, 99))} | ${f(took)} | ${ratio.toFixed(2)}x |`,
        );
      }
    }
    process.stdout.write(`\n${lines.join('\n')}\n\n`);
  } finally {
    await stop();
  }
}

main().catch((err) => {
  say(`failed: ${(err as Error).stack ?? err}`);
  process.exit(1);
});
