// What tracing costs: task detail through the gateway with tracing off and on (exporting every span
// over OTLP to a local receiver that discards them), in the same run.
//   npm run build && npx tsx bench/tracing.ts     (ROUNDS=4, DURATION=10 s each, CONNECTIONS=50)
//   AA=1 npx tsx bench/tracing.ts                 (A/A: neither system traces; must come out near 1.00x)
// Two systems run side by side on free loopback ports (test/faults/cluster.ts: the built services as
// processes, a throwaway database and vhost each), identical but for OTEL_EXPORTER_OTLP_ENDPOINT (and
// ON_ENV); each is seeded with one task, warmed up for a full untimed round, then loaded in turn, the
// order alternating each round (off-on, on-off, ...), or both at once with TOGETHER=1. Besides req/s and
// latency it reads each process's CPU time from /proc: CPU ms per request of the gateway, work and the
// PostgreSQL backends of each system. Prints a markdown table on stdout.
import { readdirSync, readFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import path from 'node:path';
import autocannon from 'autocannon';
import { startOtlpReceiver } from '@taskflow/shared/testing';
import { type Cluster, startCluster } from '../test/faults/cluster';
import { orgWithProject } from '../test/faults/helpers';

process.env.TEST_DATABASE_URL ??= process.env.BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
process.env.TEST_AMQP_URL ??= process.env.BENCH_AMQP_URL ?? 'amqp://guest:guest@127.0.0.1:5672';
const DURATION = Number(process.env.DURATION ?? 10);
const CONNECTIONS = Number(process.env.CONNECTIONS ?? 50);
const WARMUP = Number(process.env.WARMUP ?? 2);
const ROUNDS = Number(process.env.ROUNDS ?? 4);
/**
 * Untimed rounds of DURATION on each system before the measured ones. The first measured round of a
 * fresh process ran 10-30 % off the later ones (JIT, pools, caches still filling), unevenly between
 * the two systems: a 2 s warm-up does not reach the steady state.
 */
const WARMUP_ROUNDS = Number(process.env.WARMUP_ROUNDS ?? 1);
/**
 * AA=1: the A/A check of the bench itself. Both systems run without tracing (no endpoint, no ON_ENV),
 * everything else as usual; the "on" system is reported as B. Anything far from 1.00x is the bench's
 * own bias or the machine's noise, and bounds what an on/off ratio can show.
 */
const AA = Boolean(process.env.AA);
/**
 * ORDER=alternate (default): who is loaded first alternates each round (off-on, on-off, ...), so
 * whatever favours the first or the second of a pair (the other system's leftovers, a drift of the
 * machine) cancels over an even number of rounds. ORDER=fixed: off first every round (the old order).
 */
const ORDER = process.env.ORDER ?? 'alternate';
/** START_FIRST=on: start and seed the traced system first (default off), to check that start order does not matter. */
const START_FIRST = process.env.START_FIRST === 'on' ? 'on' : 'off';
/** ON_ENV='{"OTEL_TRACES_SAMPLER":"always_off"}': more environment for the traced system only (a sampler, a protocol...). */
const ON_ENV = AA ? {} : (JSON.parse(process.env.ON_ENV ?? '{}') as Record<string, string>);
// Seeding registers users (scrypt): on a machine loaded by others it outlasts the harness's 5 s upstream timeout.
const SLOW_MACHINE = { UPSTREAM_TIMEOUT_MS: '30000' };
/** TOGETHER=1: load both systems at the same time (each with CONNECTIONS) instead of in turn. */
const TOGETHER = Boolean(process.env.TOGETHER);
/** CPU_PROF=1: every service of both systems is profiled (CPU_PROF_DIR/off and /on, written when they stop). */
const CPU_PROF = Boolean(process.env.CPU_PROF);
const CPU_PROF_DIR = path.resolve(process.env.CPU_PROF_DIR ?? path.join(__dirname, 'profiles'));
// Node 20 refuses --cpu-prof in NODE_OPTIONS: a preloaded script does the same (cpu-prof.cjs).
/** Both systems: one tenant's 50 connections queue for work's fair-use slots instead of overflowing into 429s. */
const profiled = (label: Target['label']): Record<string, string> => ({
  FAIR_USE_QUEUE: '1000',
  ...(CPU_PROF ? { NODE_OPTIONS: `--require ${path.join(__dirname, 'cpu-prof.cjs')}`, CPU_PROF_OUT: path.join(CPU_PROF_DIR, label) } : {}),
});

const say = (msg: string) => process.stderr.write(`[bench] ${msg}\n`);

interface Target {
  label: 'off' | 'on';
  cluster: Cluster;
  url: string;
  token: string;
}

interface Measured {
  rps: number;
  p50: number;
  p99: number;
  failed: number;
  /** CPU milliseconds per request, by process group (the services by name, `postgres`: its backends for this system's database). */
  cpu: Record<string, number>;
}

// CPU time (user + system, in clock ticks of 10 ms) of this system's processes, from /proc: the services
// (children of this process whose DATABASE_URL is the system's) and the PostgreSQL backends of its database.
// Throughput on a shared machine is noisy; CPU per request is what tracing adds, whatever the others run.
// Keyed by process id, so that a backend that comes or goes between two readings counts for nothing.
type Ticks = Map<string, { group: string; ticks: number }>;
function cpuTicks(t: Target): Ticks {
  const ticks: Ticks = new Map();
  const read = (pid: string, file: string) => {
    try {
      return readFileSync(`/proc/${pid}/${file}`, 'utf8');
    } catch {
      return '';
    }
  };
  for (const pid of readdirSync('/proc').filter((p) => /^\d+$/.test(p))) {
    const cmdline = read(pid, 'cmdline').split('\0');
    let group: string | undefined;
    const main = /services\/(\w+)\/dist\/main\.js$/.exec(cmdline[1] ?? '');
    if (main && read(pid, 'environ').split('\0').includes(`DATABASE_URL=${t.cluster.database.url}`)) group = main[1];
    else if (cmdline[0]?.startsWith('postgres: ') && cmdline[0].split(' ').includes(t.cluster.database.name)) group = 'postgres';
    if (!group) continue;
    const stat = read(pid, 'stat');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    ticks.set(pid, { group, ticks: Number(fields[11]) + Number(fields[12]) });
  }
  return ticks;
}
const TICK_MS = 10;
/** CPU milliseconds by group between two readings. */
function cpuMs(before: Ticks, after: Ticks): Record<string, number> {
  const ms: Record<string, number> = {};
  for (const [pid, { group, ticks }] of after) {
    const earlier = before.get(pid);
    if (earlier) ms[group] = (ms[group] ?? 0) + (ticks - earlier.ticks) * TICK_MS;
  }
  return ms;
}
const CPU_GROUPS = ['gateway', 'work', 'postgres', 'bench'];

async function seeded(label: Target['label'], cluster: Cluster): Promise<Target> {
  const { owner, project } = await orgWithProject(cluster.url, `Trace${label}`);
  const task = await owner.call('POST', '/api/v1/tasks/', { project: project.id, title: 'Measured' });
  if (task.status !== 201) throw new Error(`create task: ${task.status}`);
  const url = `${cluster.url}/api/v1/tasks/${task.body.id}/`;
  const check = await owner.call('GET', `/api/v1/tasks/${task.body.id}/`);
  if (check.status !== 200) throw new Error(`task detail: ${check.status}`);
  return { label, cluster, url, token: owner.access };
}

/** Display name: "off"/"on", or A/B in an A/A run (where neither traces). */
const nameOf = (label: Target['label']) => (AA ? (label === 'off' ? 'A' : 'B') : `tracing ${label}`);

async function measure(t: Target, what = 'measured'): Promise<Measured> {
  const options = { url: t.url, connections: CONNECTIONS, headers: { authorization: `Bearer ${t.token}` }, timeout: 20 };
  if (WARMUP > 0) await autocannon({ ...options, duration: WARMUP });
  const before = cpuTicks(t);
  const own = process.cpuUsage();
  const r = await autocannon({ ...options, duration: DURATION });
  const after = cpuTicks(t);
  const { user, system } = process.cpuUsage(own);
  const used = { ...cpuMs(before, after), bench: (user + system) / 1000 }; // bench: autocannon and the receiver
  const cpu = Object.fromEntries(Object.entries(used).map(([group, ms]) => [group, ms / Math.max(1, r.requests.total)]));
  const m = { rps: r.requests.total / r.duration, p50: r.latency.p50, p99: r.latency.p99, failed: r.non2xx + r.errors + r.timeouts, cpu };
  const cpuText = CPU_GROUPS.map((g) => `${g} ${(cpu[g] ?? 0).toFixed(2)}`).join(', ');
  say(`${what} ${nameOf(t.label)}: ${m.rps.toFixed(0)} req/s, p50 ${m.p50} ms, p99 ${m.p99} ms${m.failed ? `, ${m.failed} failed` : ''}; CPU ms/request: ${cpuText}; load ${loadavg()[0]!.toFixed(1)}`);
  return m;
}

const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
const geomean = (xs: number[]) => Math.exp(mean(xs.map(Math.log)));
/** Service CPU per request: gateway + work + the PostgreSQL backends (what the system spends, not the load generator). */
const systemCpu = (m: Measured) => (m.cpu.gateway ?? 0) + (m.cpu.work ?? 0) + (m.cpu.postgres ?? 0);

/** Runs one round on both systems: at once, or in turn with `first` loaded first. */
async function round(targets: Record<Target['label'], Target>, first: Target['label'], what: string): Promise<Record<Target['label'], Measured>> {
  if (TOGETHER) {
    // Both systems loaded at once: whatever else the machine runs slows both alike.
    const [off, on] = await Promise.all([measure(targets.off, what), measure(targets.on, what)]);
    return { off: off!, on: on! };
  }
  const second = first === 'off' ? 'on' : 'off';
  const a = await measure(targets[first], what);
  const b = await measure(targets[second], what);
  return first === 'off' ? { off: a, on: b } : { off: b, on: a };
}

async function main(): Promise<void> {
  const receiver = await startOtlpReceiver({ keepSpans: false });
  const clusters: Cluster[] = [];
  const loadAtStart = loadavg()[0]!;
  try {
    say(AA ? 'A/A: starting two systems, neither traced (A where "off" stands, B where "on" would)' : 'starting two systems (tracing off, tracing on)');
    const envOf = (label: Target['label']) => (label === 'on' && !AA ? { ...profiled('on'), OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url, ...ON_ENV } : profiled(label));
    const started = {} as Record<Target['label'], Cluster>;
    for (const label of START_FIRST === 'off' ? (['off', 'on'] as const) : (['on', 'off'] as const)) {
      started[label] = await startCluster({ logLevel: 'warn', startTimeoutMs: 120_000, gatewayEnv: SLOW_MACHINE, env: envOf(label) });
      clusters.push(started[label]);
    }
    const targets = {} as Record<Target['label'], Target>;
    for (const label of START_FIRST === 'off' ? (['off', 'on'] as const) : (['on', 'off'] as const)) targets[label] = await seeded(label, started[label]);
    for (const t of Object.values(targets)) {
      const before = cpuTicks(t);
      await new Promise((resolve) => setTimeout(resolve, 5000));
      const after = cpuTicks(t);
      say(`idle ${nameOf(t.label)}: CPU ms/s ${Object.entries(cpuMs(before, after)).map(([g, ms]) => `${g} ${(ms / 5).toFixed(1)}`).join(', ')}`);
    }
    for (let r = 0; r < WARMUP_ROUNDS; r += 1) await round(targets, r % 2 === 0 ? 'off' : 'on', 'warm-up');
    const results: Record<Target['label'], Measured[]> = { off: [], on: [] };
    const ratios: number[] = [];
    const cpuRatios: number[] = [];
    for (let r = 0; r < ROUNDS; r += 1) {
      const first = ORDER === 'fixed' || r % 2 === 0 ? 'off' : 'on';
      const m = await round(targets, first, `round ${r + 1}`);
      results.off.push(m.off);
      results.on.push(m.on);
      ratios.push(m.on.rps / m.off.rps);
      cpuRatios.push(systemCpu(m.on) / systemCpu(m.off));
      say(`round ${r + 1}${TOGETHER ? '' : ` (${first} first)`}: ${AA ? 'B/A' : 'on/off'} ${ratios.at(-1)!.toFixed(3)}x req/s, ${cpuRatios.at(-1)!.toFixed(3)}x service CPU/request`);
    }
    if (!AA && receiver.exports === 0) throw new Error('the traced system exported nothing: is tracing on?');
    if (AA && receiver.exports > 0) throw new Error(`A/A run, yet ${receiver.exports} exports arrived: is tracing off in both?`);
    const summary = (label: Target['label']) => ({
      rps: mean(results[label].map((m) => m.rps)),
      p50: mean(results[label].map((m) => m.p50)),
      p99: mean(results[label].map((m) => m.p99)),
      failed: results[label].reduce((n, m) => n + m.failed, 0),
      cpu: CPU_GROUPS.map((g) => mean(results[label].map((m) => m.cpu[g] ?? 0)).toFixed(2)).join(' / '),
    });
    const a = summary('off');
    const b = summary('on');
    const loadAtEnd = loadavg()[0]!;
    const range = (xs: number[]) => `${Math.min(...xs).toFixed(2)}-${Math.max(...xs).toFixed(2)}`;
    const how = [`${CONNECTIONS} connections`, `${ROUNDS} x ${DURATION} s each`, TOGETHER ? 'both at once' : `order ${ORDER}`, `load ${loadAtStart.toFixed(1)} -> ${loadAtEnd.toFixed(1)}`];
    const onName = AA ? 'B (untraced)' : `tracing on${Object.keys(ON_ENV).length ? ` (${Object.entries(ON_ENV).map(([k, v]) => `${k}=${v}`).join(' ')})` : ''}, ${receiver.exports} exports`;
    const lines = [
      `| GET /tasks/{id}/ through the gateway (${how.join(', ')}) | req/s | p50 ms | p99 ms | failed | CPU ms/request (${CPU_GROUPS.join(' / ')}) |`,
      '|---|---|---|---|---|---|',
      `| ${AA ? 'A (untraced)' : 'tracing off'} | ${a.rps.toFixed(0)} | ${a.p50.toFixed(1)} | ${a.p99.toFixed(1)} | ${a.failed} | ${a.cpu} |`,
      `| ${onName} | ${b.rps.toFixed(0)} | ${b.p50.toFixed(1)} | ${b.p99.toFixed(1)} | ${b.failed} | ${b.cpu} |`,
      `| ${AA ? 'B / A' : 'on / off'} | ${(b.rps / a.rps).toFixed(3)}x (rounds: geometric mean ${geomean(ratios).toFixed(3)}x, ${range(ratios)}) | ${(b.p50 / a.p50).toFixed(2)}x | ${(b.p99 / a.p99).toFixed(2)}x | | service CPU/request ${geomean(cpuRatios).toFixed(3)}x (${range(cpuRatios)}) |`,
    ];
    process.stdout.write(`\n${lines.join('\n')}\n\n`);
  } finally {
    for (const c of clusters.reverse()) await c.stop().catch((err) => say(`stop failed: ${err}`));
    await receiver.close();
  }
}

main().then(
  () => process.exit(0),
  (err) => {
    process.stderr.write(`\n[bench] failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exit(1);
  },
);
