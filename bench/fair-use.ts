// Fair use: tenant B's task list, quiet and then while tenant A floods (many 10 KB tasks, then parallel
// `q=` searches over them), through the built system on 127.0.0.1. Headline: B's p99 under each flood
// as a ratio of its quiet p99 (goal: within 2x).
//   npm run build && npx tsx bench/fair-use.ts       (about 2-3 minutes with the defaults)
// Starts the built services on their normal ports against a throwaway database and vhost, seeds through
// the gateway, prints one markdown table on stdout (progress on stderr), stops everything, drops what it
// made. Every loop is bounded: by FLOOD_TASKS / FLOOD_SECONDS for the writes and DURATION for the rest.
import { execFileSync } from 'node:child_process';
import os from 'node:os';
import path from 'node:path';
import autocannon from 'autocannon';
import pg from 'pg';
import { createTestDatabase, createTestVhost, type TestDatabase, type TestVhost } from '@taskflow/shared/testing';
import { BACKENDS, BenchServices, normalPorts, refuseTakenPorts, type ServiceName, upstreamUrls } from './services';

process.env.TEST_DATABASE_URL ??= process.env.BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
process.env.TEST_AMQP_URL ??= process.env.BENCH_AMQP_URL ?? 'amqp://guest:guest@127.0.0.1:5672';
/** Seconds B is measured in each phase. */
const DURATION = Number(process.env.DURATION ?? 10);
/** B's concurrent connections: a tenant with ordinary traffic. */
const B_CONNECTIONS = Number(process.env.B_CONNECTIONS ?? 4);
/** A's flood: this many tasks with descriptions of DESCRIPTION_CHARS (the API's maximum), from WRITERS parallel clients, for at most FLOOD_SECONDS. */
const FLOOD_TASKS = Number(process.env.FLOOD_TASKS ?? 7000);
const FLOOD_SECONDS = Number(process.env.FLOOD_SECONDS ?? 60);
const DESCRIPTION_CHARS = Number(process.env.DESCRIPTION_CHARS ?? 10_000);
const WRITERS = Number(process.env.WRITERS ?? 8);
/** A's parallel `q=` searches during the search phase. */
const SEARCHERS = Number(process.env.SEARCHERS ?? 16);
/** ANALYZE=1: refresh the planner's statistics after the writes (as autovacuum eventually does) before the searches. */
const ANALYZE = process.env.ANALYZE === '1';
/**
 * STALE=1: the opposite, made repeatable: statistics taken before A's writes and autovacuum kept off
 * work.tasks (in the throwaway database), so every search is planned as if A had a handful of rows.
 * Without either, it depends on whether autovacuum's analyze happens to land before the searches.
 */
const STALE = process.env.STALE === '1';

const ROOT = path.resolve(__dirname, '..');
/** Where the built services are taken from: SERVICES_ROOT=/path/to/another/checkout measures that code (a "before"). */
const SERVICES_ROOT = path.resolve(process.env.SERVICES_ROOT ?? ROOT);
/** Added to every port (the gateway's metrics port is any free one): PORT_OFFSET=100 runs beside another benchmark's services. */
const PORT_OFFSET = Number(process.env.PORT_OFFSET ?? 0);
/**
 * The gateway's per-user write limit during the run: lifted by default, so that A's flood reaches the
 * database (what is measured is the database side); `WRITE_LIMIT=600` keeps the gateway's default.
 */
const WRITE_LIMIT = process.env.WRITE_LIMIT ?? '100000000';
const PORTS = normalPorts(PORT_OFFSET);
const serviceUrl = (name: ServiceName) => `http://127.0.0.1:${PORTS[name]}`;
const GATEWAY = serviceUrl('gateway');
const START_TIMEOUT_MS = 60_000;

const say = (msg: string) => process.stderr.write(`[fair-use] ${msg}\n`);

// The built services, each in its own process group: Ctrl-C reaches only this script, which stops them.
const services = new BenchServices({ say, root: SERVICES_ROOT, ownProcessGroup: true });

function gitHead(dir: string): string {
  try {
    return execFileSync('git', ['-C', dir, 'log', '-1', '--format=%h %s'], { encoding: 'utf8' }).trim().slice(0, 80);
  } catch {
    return 'not a git checkout';
  }
}

// --- the API ---------------------------------------------------------------------------------------------
async function api<T = any>(method: string, pathname: string, body?: unknown, token?: string): Promise<{ status: number; body: T }> {
  const res = await fetch(`${GATEWAY}${pathname}`, {
    method,
    headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: body === undefined ? undefined : JSON.stringify(body),
    signal: AbortSignal.timeout(30_000),
  });
  const text = await res.text();
  return { status: res.status, body: (text ? JSON.parse(text) : undefined) as T };
}
async function ok<T = any>(method: string, pathname: string, body?: unknown, token?: string): Promise<T> {
  const res = await api<T>(method, pathname, body, token);
  if (res.status >= 300) throw new Error(`${method} ${pathname} answered ${res.status}: ${JSON.stringify(res.body).slice(0, 300)}`);
  return res.body;
}

async function tenant(name: string): Promise<{ token: string; org: string; project: string }> {
  const email = `fair-${name}-${Date.now().toString(36)}@example.com`;
  const password = 'quiet lantern orbit 47';
  await ok('POST', '/api/v1/auth/register/', { email, password, first_name: name, last_name: 'Tenant' });
  const { access: token } = await ok<{ access: string }>('POST', '/api/v1/auth/login/', { email, password });
  const { id: org } = await ok<{ id: string }>('POST', '/api/v1/organizations/', { name: `Tenant ${name}` }, token);
  const { id: project } = await ok<{ id: string }>('POST', '/api/v1/projects/', { organization: org, name: 'Main' }, token);
  return { token, org, project };
}

/** Prose-like text: words of two-letter syllables (the searched strings below never occur in it). */
const SYLLABLES = ['ka', 'to', 'ri', 'me', 'lu', 'sa', 'no', 'pe', 'di', 'ga', 'mo', 're', 'ti', 'la', 'be', 'fu', 'ho', 'ne', 'si', 'da'];
function prose(bytes: number, seed: number): string {
  let x = seed * 2654435761;
  const next = () => (x = (x * 1103515245 + 12345) >>> 0) % SYLLABLES.length;
  const words: string[] = [];
  let length = 0;
  while (length < bytes) {
    const word = Array.from({ length: 1 + (next() % 4) }, () => SYLLABLES[next()]).join('');
    words.push(word);
    length += word.length + 1;
  }
  return words.join(' ').slice(0, bytes);
}

// --- measuring B ------------------------------------------------------------------------------------------
interface Measured {
  phase: string;
  rps: number;
  p50: number;
  p99: number;
  non2xx: number;
  statuses: string;
}

async function measureB(phase: string, url: string, token: string): Promise<Measured> {
  const r = await autocannon({ url, connections: B_CONNECTIONS, duration: DURATION, headers: { authorization: `Bearer ${token}` }, timeout: 20 });
  const statuses = Object.entries(r.statusCodeStats ?? {}).map(([code, v]) => `${code}:${(v as { count: number }).count}`).join(' ');
  const m = { phase, rps: r.requests.total / r.duration, p50: r.latency.p50, p99: r.latency.p99, non2xx: r.non2xx + r.errors + r.timeouts, statuses };
  say(`${phase}: B ${m.rps.toFixed(0)} req/s, p50 ${m.p50} ms, p99 ${m.p99} ms (${statuses})`);
  return m;
}

/** Latencies and statuses of A's own requests during a flood. */
class Tally {
  readonly ms: number[] = [];
  readonly statuses = new Map<number, number>();
  add(status: number, ms: number): void {
    this.ms.push(ms);
    this.statuses.set(status, (this.statuses.get(status) ?? 0) + 1);
  }
  percentile(p: number): number {
    const sorted = [...this.ms].sort((a, b) => a - b);
    return sorted.length ? Math.round(sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!) : 0;
  }
  summary(): string {
    return `${this.ms.length} requests, p50 ${this.percentile(50)} ms, p99 ${this.percentile(99)} ms, status ${[...this.statuses].map(([s, n]) => `${s}:${n}`).join(' ')}`;
  }
}

/** Runs `call`, adds its status and time to `tally`, and resolves to the status (0: no answer). */
async function timed(tally: Tally, call: () => Promise<{ status: number }>): Promise<number> {
  const started = performance.now();
  const status = await call().then((r) => r.status, () => 0);
  tally.add(status, performance.now() - started);
  return status;
}

// --- main -------------------------------------------------------------------------------------------------
async function main(): Promise<void> {
  services.requireBuilt([...BACKENDS, 'gateway']);
  await refuseTakenPorts(PORTS);
  const loadBefore = os.loadavg();
  const database: TestDatabase = await createTestDatabase('bench_fair');
  let vhost: TestVhost | undefined;
  let db: pg.Client | undefined;
  const cleanup = async () => {
    await services.stopAll();
    await db?.end().catch(() => undefined);
    await database.drop().catch((err) => say(`could not drop ${database.name}: ${err}`));
    await vhost?.drop().catch((err) => say(`could not drop vhost: ${err}`));
  };
  process.once('SIGINT', () => void cleanup().finally(() => process.exit(130)));
  try {
    vhost = await createTestVhost('bench_fair');
    const env = (name: ServiceName) => ({ ...upstreamUrls(PORTS), DATABASE_URL: database.url, AMQP_URL: vhost!.url, PORT: String(PORTS[name]), LOG_LEVEL: 'warn' });
    const start = (name: ServiceName, extra: Record<string, string> = {}) => services.start(name, name, { ...env(name), ...extra }, { url: serviceUrl(name), timeoutMs: START_TIMEOUT_MS });
    // Webhooks too: the gateway is ready only when every upstream is.
    await Promise.all(BACKENDS.map((name) => start(name)));
    // The gateway's per-user write limit would stop A's flood long before the database is tested: lifted unless WRITE_LIMIT says.
    await start('gateway', { METRICS_PORT: '0', AUTH_RATE_LIMIT_PER_MINUTE: '100000000', LOGIN_FAILURE_LIMIT: '100000000', WRITE_RATE_LIMIT_PER_MINUTE: WRITE_LIMIT });
    db = new pg.Client({ connectionString: database.url });
    await db.connect();

    say('seeding tenants A and B');
    const a = await tenant('a');
    const b = await tenant('b');
    for (let i = 0; i < 200; i += 1) await ok('POST', '/api/v1/tasks/', { project: b.project, title: `B task ${i}`, description: `Routine work item ${i}` }, b.token);
    const bList = `${GATEWAY}/api/v1/tasks/?project=${b.project}&limit=50`;
    if (STALE) {
      await db.query('analyze work.tasks');
      await db.query('alter table work.tasks set (autovacuum_enabled = false)');
      say('statistics taken now, before the floods, and kept (autovacuum off for work.tasks)');
    }

    // Untimed warm-up (JIT, pools, keep-alive sockets), then B alone.
    await autocannon({ url: bList, connections: B_CONNECTIONS, duration: 3, headers: { authorization: `Bearer ${b.token}` } });
    const rows: Measured[] = [];
    rows.push(await measureB('quiet', bList, b.token));

    // Phase 1: A creates FLOOD_TASKS tasks of DESCRIPTION_CHARS from WRITERS clients (bounded by FLOOD_SECONDS).
    say(`A creates ${FLOOD_TASKS} tasks of ${(DESCRIPTION_CHARS / 1000).toFixed(0)} KB from ${WRITERS} clients (at most ${FLOOD_SECONDS} s)`);
    const writes = new Tally();
    const writeDeadline = Date.now() + FLOOD_SECONDS * 1000;
    // Only stored tasks count towards FLOOD_TASKS: refused writes (429 with WRITE_LIMIT) keep the flood going.
    let created = 0;
    let attempts = 0;
    const writing = Promise.all(
      Array.from({ length: WRITERS }, async () => {
        while (created < FLOOD_TASKS && Date.now() < writeDeadline) {
          const n = (attempts += 1);
          const status = await timed(writes, () => api('POST', '/api/v1/tasks/', { project: a.project, title: `Flood ${n}`, description: prose(DESCRIPTION_CHARS, n) }, a.token));
          if (status >= 200 && status < 300) created += 1;
        }
      }),
    );
    const started = Date.now();
    rows.push(await measureB(`while A creates ${(DESCRIPTION_CHARS / 1000).toFixed(0)} KB tasks (${WRITERS} clients)`, bList, b.token));
    await writing;
    const writeSeconds = (Date.now() - started) / 1000;
    const stored = Number((await db.query('select count(*) from work.tasks where organization_id = $1', [a.org])).rows[0].count);
    say(`A: ${stored} tasks stored in ${writeSeconds.toFixed(0)} s; creates ${writes.summary()}`);

    if (ANALYZE) {
      await db.query('analyze work.tasks');
      say('analyzed work.tasks after the writes');
    }
    // Phase 2: A runs SEARCHERS parallel q= searches (strings absent from its texts: a scan's worst case).
    const searches = new Tally();
    const searchUntil = Date.now() + (DURATION + 1) * 1000;
    let s = 0;
    const searching = Promise.all(
      Array.from({ length: SEARCHERS }, async () => {
        while (Date.now() < searchUntil) {
          const q = `zq${(s += 1).toString(36)}x`;
          await timed(searches, () => api('GET', `/api/v1/tasks/?organization=${a.org}&q=${q}&limit=50`, undefined, a.token));
        }
      }),
    );
    rows.push(await measureB(`while A runs ${SEARCHERS} parallel q= searches over them`, bList, b.token));
    await searching;
    say(`A: searches ${searches.summary()}`);
    rows.push(await measureB('quiet again (after the floods)', bList, b.token));

    const quiet = rows[0]!;
    const load = (l: number[]) => l.map((x) => x.toFixed(2)).join(' ');
    const lines = [
      `Services from ${SERVICES_ROOT} (${gitHead(SERVICES_ROOT)}). DURATION=${DURATION}s per phase, B_CONNECTIONS=${B_CONNECTIONS}, ${os.cpus().length} cores shared by the services, PostgreSQL, RabbitMQ and the load; ` +
        `load average ${load(loadBefore)} before, ${load(os.loadavg())} after.`,
      `Statistics ${ANALYZE ? 'refreshed (ANALYZE) after the writes' : STALE ? 'from before the writes (STALE=1)' : 'as autovacuum left them after the writes'}. A: ${stored} tasks of ${(DESCRIPTION_CHARS / 1000).toFixed(0)} KB stored in ${writeSeconds.toFixed(0)} s (creates: ${writes.summary()}); ` + `${SEARCHERS} parallel searches: ${searches.summary()}.`,
      '',
      '| phase | B req/s | B p50 ms | B p99 ms | B p99 / quiet p99 | B non-2xx |',
      '|---|---:|---:|---:|---:|---:|',
      ...rows.map((r) => `| ${r.phase} | ${r.rps.toFixed(0)} | ${r.p50} | ${r.p99} | ${(r.p99 / Math.max(1, quiet.p99)).toFixed(2)}x | ${r.non2xx} |`),
    ];
    process.stdout.write(`\n${lines.join('\n')}\n\n`);
    services.report();
  } finally {
    await cleanup();
  }
}

main().then(
  () => process.exit(0),
  (err) => {
    say(String(err instanceof Error ? err.stack : err));
    process.exit(1);
  },
);
