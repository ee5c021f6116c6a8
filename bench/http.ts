// HTTP load through the gateway and straight from the services, each read right after its one-process
// reference (bench/baseline.ts: the single-row baseline, or the page ceiling of as many rows), plus the
// scaling figure: two task pages at ~1k and again at ~1M tasks in an organization.
//   npm run build && npx tsx bench/http.ts      (DURATION=10 seconds per scenario, CONNECTIONS=50)
// Starts the built services (services/<name>/dist/main.js) on their normal ports against a throwaway
// database and vhost on the local servers, seeds through the gateway, loads with autocannon, prints
// one markdown table on stdout (progress on stderr; with each process's CPU ms per request, from /proc),
// then stops everything and drops what it made.
// Loopback only; every load loop is bounded by DURATION.
import { readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import autocannon from 'autocannon';
import pg from 'pg';
import { createTestDatabase, createTestVhost, type TestDatabase, type TestVhost } from '@taskflow/shared/testing';
import { BACKENDS, BenchServices, normalPorts, refuseTakenPorts, type ServiceName, upstreamUrls } from './services';

process.env.TEST_DATABASE_URL ??= process.env.BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
process.env.TEST_AMQP_URL ??= process.env.BENCH_AMQP_URL ?? 'amqp://guest:guest@127.0.0.1:5672';
const DURATION = Number(process.env.DURATION ?? 10);
const CONNECTIONS = Number(process.env.CONNECTIONS ?? 50);
/** Seconds of untimed load before each scenario (JIT, pools, keep-alive sockets). */
const WARMUP = Number(process.env.WARMUP ?? 2);
/** Tasks created through the API in the scaling organization, then rows inserted with SQL. */
const SCALE_API_TASKS = Number(process.env.SCALE_API_TASKS ?? 1000);
const SCALE_SQL_ROWS = Number(process.env.SCALE_SQL_ROWS ?? 1_000_000);
const CHUNK = 100_000;
/** Only the scenarios whose name matches this regular expression (the first baseline always runs). */
const ONLY = process.env.ONLY ? new RegExp(process.env.ONLY, 'i') : undefined;
/** Services to run under `node --cpu-prof` (comma-separated names); profiles land in CPU_PROF_DIR on exit. */
const CPU_PROF = new Set((process.env.CPU_PROF ?? '').split(',').map((n) => n.trim()).filter(Boolean));
/** Services to run with bench/heap-sample.cjs: what they allocate per request during the scenarios (profiles in CPU_PROF_DIR). */
const HEAP_PROF = new Set((process.env.HEAP_PROF ?? '').split(',').map((n) => n.trim()).filter(Boolean));

const ROOT = path.resolve(__dirname, '..');
const CPU_PROF_DIR = path.resolve(process.env.CPU_PROF_DIR ?? path.join(ROOT, 'bench/profiles'));
/** Added to every service port, so two copies of the benchmark (or a running `npm start`) can coexist. */
const PORT_OFFSET = Number(process.env.PORT_OFFSET ?? 0);
const PORTS = normalPorts(PORT_OFFSET);
const serviceUrl = (name: ServiceName) => `http://127.0.0.1:${PORTS[name]}`;
const GATEWAY = serviceUrl('gateway');
const WORK = serviceUrl('work');
const AUDIT = serviceUrl('audit');
const START_TIMEOUT_MS = 60_000;

const say = (msg: string) => process.stderr.write(`[bench] ${msg}\n`);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

// --- the services and the baseline, as child processes ---------------------------------------------
// Own process groups: a terminal Ctrl-C reaches only us, and we stop them in order (see `finish`).
const services = new BenchServices({ say, ownProcessGroup: true });

async function startServices(database: TestDatabase, vhost: TestVhost): Promise<void> {
  const env = (name: ServiceName) => ({
    ...upstreamUrls(PORTS),
    DATABASE_URL: database.url,
    AMQP_URL: vhost.url,
    PORT: String(PORTS[name]),
    LOG_LEVEL: 'warn',
    // One tenant drives all 50 connections: its requests queue for their fair-use slots (the cap stays in
    // the measured path) instead of overflowing the per-tenant queue of 16 into 429s.
    FAIR_USE_QUEUE: '1000',
    ...(HEAP_PROF.has(name) ? { HEAP_PROF_DIR: CPU_PROF_DIR, HEAP_PROF_NAME: name } : {}),
  });
  const options = (name: ServiceName) => ({
    url: serviceUrl(name),
    timeoutMs: START_TIMEOUT_MS,
    nodeArgs: [
      ...(CPU_PROF.has(name) ? ['--cpu-prof', `--cpu-prof-dir=${CPU_PROF_DIR}`, `--cpu-prof-name=${name}-${Date.now()}.cpuprofile`] : []),
      ...(HEAP_PROF.has(name) ? ['--require', path.join(ROOT, 'bench/heap-sample.cjs')] : []),
    ],
  });
  await Promise.all(BACKENDS.map((name) => services.start(name, name, env(name), options(name))));
  await services.start(
    'gateway',
    'gateway',
    {
      ...env('gateway'),
      // So the limits don't hide throughput: the login scenario is one address and one email.
      AUTH_RATE_LIMIT_PER_MINUTE: '100000000',
      LOGIN_FAILURE_LIMIT: '100000000',
      WRITE_RATE_LIMIT_PER_MINUTE: '100000000',
    },
    options('gateway'),
  );
}

/** The one-process reference (bench/baseline.ts), on a port it picks and announces as `{"listening":port}`. */
async function startBaseline(database: TestDatabase): Promise<{ url: string }> {
  services.spawnNode('baseline', ['--import', 'tsx', path.join(ROOT, 'bench/baseline.ts')], {
    DATABASE_URL: database.url,
    JWKS_URL: `${serviceUrl('identity')}/api/v1/auth/jwks/`,
    PORT: '0',
  });
  const lines = services.logLines('baseline');
  const deadline = Date.now() + START_TIMEOUT_MS;
  for (;;) {
    const line = lines.find((l) => l.startsWith('{"listening"'));
    if (line) return { url: `http://127.0.0.1:${(JSON.parse(line) as { listening: number }).listening}` };
    if (!services.running('baseline')) throw new Error(`baseline exited before listening:\n  ${lines.slice(-10).join('\n  ')}`);
    if (Date.now() > deadline) throw new Error('baseline did not start listening within 60 s');
    await sleep(50);
  }
}

// --- the API, for seeding ---------------------------------------------------------------------------
async function api<T = any>(method: string, pathname: string, body?: unknown, token?: string, expect = [200, 201]): Promise<T> {
  const res = await fetch(`${GATEWAY}${pathname}`, {
    method,
    headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: body === undefined ? undefined : JSON.stringify(body),
    signal: AbortSignal.timeout(30_000),
  });
  const text = await res.text();
  if (!expect.includes(res.status)) throw new Error(`${method} ${pathname} answered ${res.status}: ${text.slice(0, 300)}`);
  return (text ? JSON.parse(text) : undefined) as T;
}

/** Runs `count` jobs with at most `width` in flight. */
async function inParallel(count: number, width: number, job: (i: number) => Promise<unknown>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: width }, async () => {
      while (next < count) await job(next++);
    }),
  );
}

interface Seed {
  email: string;
  password: string;
  userId: string;
  org: string;
  project: string;
  writesProject: string;
  taskId: string;
  scaleOrg: string;
  scaleProject: string;
  scaleOtherProject: string;
}

async function seed(): Promise<Seed & { token: string }> {
  const email = `bench-${Date.now().toString(36)}@example.com`;
  const password = 'quiet lantern orbit 47';
  await api('POST', '/api/v1/auth/register/', { email, password, first_name: 'Bench', last_name: 'User' });
  const { access: token } = await api<{ access: string }>('POST', '/api/v1/auth/login/', { email, password });
  const { id: userId } = await api<{ id: string }>('GET', '/api/v1/auth/me/', undefined, token);

  const { id: org } = await api<{ id: string }>('POST', '/api/v1/organizations/', { name: 'Bench org' }, token);
  const project = (await api<{ id: string }>('POST', '/api/v1/projects/', { organization: org, name: 'Measured' }, token)).id;
  const writesProject = (await api<{ id: string }>('POST', '/api/v1/projects/', { organization: org, name: 'Writes' }, token)).id;
  const priorities = ['low', 'medium', 'high'];
  const statuses = ['todo', 'in_progress', 'review', 'done'];
  let taskId = '';
  await inParallel(200, 10, async (i) => {
    const task = await api<{ id: string }>(
      'POST',
      '/api/v1/tasks/',
      { project, title: `Seeded task ${i}`, description: `Description of task ${i}`, assigned_to: i % 2 === 0 ? userId : null, priority: priorities[i % 3], status: statuses[i % 4] },
      token,
    );
    if (i === 100) taskId = task.id;
  });

  // The scaling organization: SCALE_API_TASKS tasks through the API, half in the measured project,
  // 40% assigned to the user; the SQL rows come later.
  const { id: scaleOrg } = await api<{ id: string }>('POST', '/api/v1/organizations/', { name: 'Bench scale org' }, token);
  const scaleProject = (await api<{ id: string }>('POST', '/api/v1/projects/', { organization: scaleOrg, name: 'Scale measured' }, token)).id;
  const scaleOtherProject = (await api<{ id: string }>('POST', '/api/v1/projects/', { organization: scaleOrg, name: 'Scale other' }, token)).id;
  await inParallel(SCALE_API_TASKS, 10, (i) =>
    api(
      'POST',
      '/api/v1/tasks/',
      { project: i % 2 === 0 ? scaleProject : scaleOtherProject, title: `Scale task ${i}`, assigned_to: i % 5 < 2 ? userId : null, priority: priorities[i % 3] },
      token,
    ),
  );
  return { email, password, userId, org, project, writesProject, taskId, scaleOrg, scaleProject, scaleOtherProject, token };
}

/** Waits until audit has applied every event work published (so its backlog does not load a scenario). */
async function settle(db: pg.Client, timeoutMs = 120_000): Promise<void> {
  const started = Date.now();
  for (;;) {
    const { rows } = await db.query(
      `select (select count(*) from work.outbox where published_at is null)::int as unpublished,
              (select count(*) from work.outbox o where not exists (select 1 from audit.processed_messages p where p.message_id = o.id))::int as unapplied`,
    );
    if (rows[0].unpublished === 0 && rows[0].unapplied === 0) return;
    if (Date.now() - started > timeoutMs) {
      say(`warning: events still pending after ${timeoutMs / 1000} s (${JSON.stringify(rows[0])}); measuring anyway`);
      return;
    }
    await sleep(200);
  }
}

// --- load ------------------------------------------------------------------------------------------------
/** What a scenario is compared with: the single-row baseline, or the page ceiling of the same number of rows. */
type Reference = 'row' | 'page50' | 'page200';
const REFERENCE_NAMES: Record<Reference, string> = { row: 'single-row baseline', page50: '50-row ceiling', page200: '200-row ceiling' };

interface Row {
  scenario: string;
  vs: Reference;
  rps: number;
  p50: number;
  p99: number;
  non2xx: number;
  errors: number;
  statuses: string;
  /** CPU milliseconds (user + system) per request of each process that was busy during the timed load. */
  cpu: Record<string, number>;
}

/**
 * CPU time (user + system, clock ticks of 10 ms) of each child process, from /proc/<pid>/stat: on a
 * shared machine req/s moves with the others' load, CPU per request much less.
 */
function cpuTicks(): Map<string, number> {
  const ticks = new Map<string, number>();
  for (const name of services.names()) {
    try {
      const stat = readFileSync(`/proc/${services.pid(name)}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      ticks.set(name, Number(fields[11]) + Number(fields[12]));
    } catch {
      // exited, or no /proc (not Linux): no CPU figure
    }
  }
  return ticks;
}
const TICK_MS = 10;

/** CPU ms per request by process between two readings, for those busy at least 2% of the time. */
function cpuPerRequest(before: Map<string, number>, after: Map<string, number>, requests: number, seconds: number): Record<string, number> {
  const cpu: Record<string, number> = {};
  for (const [name, ticks] of after) {
    const ms = (ticks - (before.get(name) ?? ticks)) * TICK_MS;
    if (ms > 0.02 * seconds * 1000) cpu[name] = ms / Math.max(1, requests);
  }
  return cpu;
}
const cpuText = (cpu: Record<string, number>) =>
  Object.entries(cpu)
    .map(([name, ms]) => `${name} ${ms.toFixed(2)}`)
    .join(', ');

interface Scenario {
  name: string;
  /** The reference of its ratio (default the single-row baseline). */
  vs?: Reference;
  url: string;
  method?: 'GET' | 'POST';
  headers?: Record<string, string>;
  body?: string;
  setupRequest?: (req: any) => any;
  /** Seconds of warm-up; default WARMUP. */
  warmup?: number;
}

async function measure(s: Scenario): Promise<Row> {
  const requests = [{ method: s.method ?? 'GET', ...(s.body ? { body: s.body } : {}), ...(s.setupRequest ? { setupRequest: s.setupRequest } : {}) }];
  const options = { url: s.url, connections: CONNECTIONS, headers: s.headers ?? {}, requests, timeout: 20 };
  const warmup = s.warmup ?? WARMUP;
  if (warmup > 0) await autocannon({ ...options, duration: warmup });
  say(`${s.name}: ${DURATION} s at ${CONNECTIONS} connections`);
  const before = cpuTicks();
  const r = await autocannon({ ...options, duration: DURATION });
  const cpu = cpuPerRequest(before, cpuTicks(), r.requests.total, r.duration);
  const statuses = Object.entries(r.statusCodeStats ?? {})
    .map(([code, v]) => `${code}:${(v as { count: number }).count}`)
    .join(' ');
  const row = { scenario: s.name, vs: s.vs ?? 'row', rps: r.requests.total / r.duration, p50: r.latency.p50, p99: r.latency.p99, non2xx: r.non2xx, errors: r.errors + r.timeouts, statuses, cpu };
  say(`  ${row.rps.toFixed(0)} req/s, p50 ${row.p50} ms, p99 ${row.p99} ms, status ${statuses}${row.errors ? `, ${r.errors} errors ${r.timeouts} timeouts` : ''}; CPU ms/request: ${cpuText(cpu)}`);
  return row;
}

/** One page must answer 200 and be full before it is worth loading. */
async function expectFullPage(pathname: string, token: string, rows = 50): Promise<void> {
  const page = await api<{ results: unknown[]; next: string | null }>('GET', pathname, undefined, token);
  // The 200-task page is the whole seeded project: no next page.
  if (page.results.length !== rows || (rows === 50 && !page.next)) throw new Error(`${pathname}: expected a full page of ${rows}${rows === 50 ? ' with a next link' : ''}, got ${page.results.length}`);
}

/**
 * Identity keeps hashing the logins a finished scenario left queued (it cannot cancel a scrypt):
 * wait until one login answers about as fast as when idle, so that work does not load the next scenario.
 */
async function drainIdentity(login: () => Promise<unknown>, idleMs = loginIdleMs, timeoutMs = 60_000): Promise<void> {
  const started = Date.now();
  for (;;) {
    const t = Date.now();
    await login();
    if (Date.now() - t <= Math.max(3 * idleMs, 300)) return;
    if (Date.now() - started > timeoutMs) {
      say('warning: identity still busy 60 s after the login scenario');
      return;
    }
  }
}
let loginIdleMs = 0;

async function insertRows(db: pg.Client, s: Seed): Promise<void> {
  // Older than every API-created task of the organization: the newest page (the default ordering,
  // -created_at) stays the same API rows, so 1k vs 1M compares the same response over a bigger table.
  const { rows } = await db.query('select min(created_at) as oldest from work.tasks where organization_id = $1', [s.scaleOrg]);
  const before = new Date((rows[0].oldest as Date).getTime() - 1000);
  const started = Date.now();
  // Maintaining the twelve list indexes row by row makes each chunk slower than the last (the
  // indexes outgrow shared_buffers; 1M rows took over 4 minutes). So: drop them, insert, and build
  // them again with the definitions read from the catalog. The measurement then runs on freshly
  // built (densely packed) indexes; the primary key is kept and maintained all along.
  const { rows: indexes } = await db.query(
    `select indexname, indexdef from pg_indexes
      where schemaname = 'work' and tablename = 'tasks'
        and indexname not in (select conname from pg_constraint where conrelid = 'work.tasks'::regclass)`,
  );
  for (const { indexname } of indexes) await db.query(`drop index work.${db.escapeIdentifier(indexname)}`);
  for (let from = 1; from <= SCALE_SQL_ROWS; from += CHUNK) {
    const to = Math.min(SCALE_SQL_ROWS, from + CHUNK - 1);
    await db.query(
      `insert into work.tasks (organization_id, project_id, title, description, assigned_to, status, priority, due_date, created_by, created_at, updated_at)
       select $1::uuid,
              case when g % 2 = 0 then $2::uuid else $3::uuid end,
              'Imported task ' || g,
              'Imported from the old tracker',
              case when g % 5 < 2 then $4::uuid end,
              (array['todo','in_progress','review','done'])[1 + g % 4],
              (array['low','medium','high'])[1 + (g / 4) % 3],
              case when g % 3 = 0 then null else date '2025-01-01' + (g % 900) end,
              $4::uuid,
              t.at, t.at
         from generate_series($5::int, $6::int) g
        cross join lateral (select $7::timestamptz - g * interval '25 seconds' as at) t`,
      [s.scaleOrg, s.scaleProject, s.scaleOtherProject, s.userId, from, to, before],
    );
    say(`  inserted ${to.toLocaleString('en')} / ${SCALE_SQL_ROWS.toLocaleString('en')} rows (${((Date.now() - started) / 1000).toFixed(0)} s)`);
  }
  const building = Date.now();
  await db.query(`set maintenance_work_mem = '256MB'`);
  for (const { indexdef } of indexes) await db.query(indexdef);
  say(`  rebuilt ${indexes.length} indexes (${((Date.now() - building) / 1000).toFixed(0)} s)`);
  await db.query('analyze work.tasks');
  await db.query('checkpoint'); // so the measurement does not share the disk with the insert's checkpoint
  say(`  insert + analyze + checkpoint: ${((Date.now() - started) / 1000).toFixed(0)} s`);
}

// --- main ----------------------------------------------------------------------------------------------------------
let cleanup: (() => Promise<void>) | undefined;

async function main(): Promise<void> {
  services.requireBuilt([...BACKENDS, 'gateway']);
  await refuseTakenPorts(PORTS);
  const loadBefore = os.loadavg();
  if (loadBefore[0]! > 0.5 * os.cpus().length) say(`warning: load average ${loadBefore[0]!.toFixed(2)} before the run: something else is using the CPU, numbers will be low`);
  const database = await createTestDatabase('bench_http');
  let vhost: TestVhost | undefined;
  let db: pg.Client | undefined;
  cleanup = async () => {
    await services.stopAll();
    await db?.end().catch(() => undefined);
    await database.drop().catch((err) => say(`could not drop database ${database.name}: ${err}`));
    await vhost?.drop().catch((err) => say(`could not drop vhost ${vhost?.name}: ${err}`));
  };
  vhost = await createTestVhost('bench_http');
  const t0 = Date.now();
  say(`database ${database.name}, vhost ${vhost.name}; starting the services`);
  await startServices(database, vhost);
  db = new pg.Client({ connectionString: database.url });
  await db.connect();

  say('seeding through the gateway');
  const s = await seed();
  const baseline = await startBaseline(database);
  // Activity comes from events: wait until audit has them all.
  await settle(db);
  const login = async () => (await api<{ access: string }>('POST', '/api/v1/auth/login/', { email: s.email, password: s.password })).access;
  const idleLogin = Date.now();
  await login();
  loginIdleMs = Date.now() - idleLogin;
  const auth = (token: string) => ({ authorization: `Bearer ${token}` });

  let token = s.token;
  const projectPage = `/api/v1/tasks/?project=${s.project}&limit=50`;
  const minePage = `/api/v1/tasks/?assigned_to=me&organization=${s.org}&limit=50`;
  const activityPage = `/api/v1/activity/?organization=${s.org}&limit=50`;
  const project200Page = `/api/v1/tasks/?project=${s.project}&limit=200`;
  const filteredPage = `/api/v1/tasks/?project=${s.project}&status=todo&status=in_progress&ordering=-priority&limit=50`;
  for (const page of [projectPage, minePage, activityPage, filteredPage]) await expectFullPage(page, token);
  await expectFullPage(project200Page, token, 200);
  say(`ready in ${((Date.now() - t0) / 1000).toFixed(0)} s`);

  const rows: Row[] = [];
  let heapSampling = false;
  // A fresh token before each scenario: access tokens live 15 minutes, a long DURATION outlasts one.
  const selected = (name: string) => !ONLY || ONLY.test(name);
  const run = async (scenario: Omit<Scenario, 'headers'> & { headers?: Record<string, string> }, withToken = true) => {
    // The references always run: every ratio needs its own, from the same run.
    if (!/^(baseline|ceiling):/.test(scenario.name) && !selected(scenario.name)) return;
    if (withToken) token = await login();
    if (!heapSampling && !/^(baseline|ceiling):/.test(scenario.name)) {
      // From here on, what the services allocate is the scenarios' (bench/heap-sample.cjs).
      heapSampling = true;
      for (const name of HEAP_PROF) if (services.running(name)) services.send(name, 'SIGUSR2');
    }
    rows.push(await measure({ ...scenario, headers: { ...(withToken ? auth(token) : {}), ...scenario.headers } }));
  };

  const ceiling = (limit: number) => `${baseline.url}/pages/tasks?project=${s.project}&limit=${limit}`;
  const references: Record<Reference, Scenario> = {
    row: { name: 'baseline: one process, RS256 verify + PK select', url: `${baseline.url}/tasks/${s.taskId}` },
    page50: { name: 'ceiling: one process, RS256 verify + json_agg page of 50 as text', vs: 'page50', url: ceiling(50) },
    page200: { name: 'ceiling: one process, RS256 verify + json_agg page of 200 as text', vs: 'page200', url: ceiling(200) },
  };
  const baselines = async (when: string) => {
    for (const ref of Object.values(references)) await run({ ...ref, name: `${ref.name} (${when})` });
  };
  // Each read twice, through the gateway and straight from the service that answers it, right after its
  // reference: on a shared machine the load changes within minutes, so each ratio compares neighbours.
  const both = async (name: string, pathname: string, vs: Reference, service = WORK) => {
    if (!selected(`${name} via gateway`) && !selected(`${name} direct`)) return;
    await run(references[vs]);
    await run({ name: `${name} via gateway`, vs, url: `${GATEWAY}${pathname}` });
    await run({ name: `${name} direct`, vs, url: `${service}${pathname}` });
  };
  await baselines('start');
  await both('GET /tasks/{id}/ (task detail)', `/api/v1/tasks/${s.taskId}/`, 'row');
  await both('GET /tasks/?project=&limit=50', projectPage, 'page50');
  await both('GET /tasks/?project=&limit=200', project200Page, 'page200');
  await both('GET /tasks/?assigned_to=me&organization=&limit=50', minePage, 'page50');
  await both('GET /tasks/?project=&status=todo&status=in_progress&ordering=-priority&limit=50', filteredPage, 'page50');
  await both('GET /activity/?organization=&limit=50', activityPage, 'page50', AUDIT);
  await run({ name: 'GET /auth/me/', url: `${GATEWAY}/api/v1/auth/me/` });
  // The gateway's cost on a large body (~100 KB: streamed through, not held whole), against the same
  // page read straight from work with the same token.
  const bigPage = `/api/v1/tasks/?project=${s.scaleProject}&limit=200`;
  if (selected('200-task page')) {
    const page = await api<{ results: unknown[] }>('GET', bigPage, undefined, token);
    if (page.results.length !== 200) throw new Error(`${bigPage}: expected 200 tasks, got ${page.results.length}`);
  }
  await run({ name: 'GET /tasks/?project=&limit=200 (200-task page) through the gateway', url: `${GATEWAY}${bigPage}` });
  await run({ name: 'GET /tasks/?project=&limit=200 (200-task page) straight from work', url: `http://127.0.0.1:${PORTS.work}${bigPage}` });
  let n = 0;
  const runId = Date.now().toString(36);
  await run({
    name: 'POST /tasks/ (create)',
    url: `${GATEWAY}/api/v1/tasks/`,
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    setupRequest: (req) => ({ ...req, body: JSON.stringify({ project: s.writesProject, title: `Load task ${runId}-${(n += 1)}`, assigned_to: n % 2 ? s.userId : null }) }),
  });
  say('waiting for audit to apply the create events');
  await settle(db);
  // No warm-up here: the logins a warm-up leaves queued in identity (a scrypt cannot be cancelled)
  // would be hashed during the measurement and almost none of its own would finish.
  if (selected('login')) await drainIdentity(login);
  await run(
    {
      warmup: 0,
      name: 'POST /auth/login/ (scrypt N=32768)',
      url: `${GATEWAY}/api/v1/auth/login/`,
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ email: s.email, password: s.password }),
    },
    false,
  );

  if (selected('login')) await drainIdentity(login);
  // Registration: a new address each time (one scrypt hash, a user row and its outbox event).
  let registrations = 0;
  await run(
    {
      warmup: 0,
      name: 'POST /auth/register/ (scrypt N=32768)',
      url: `${GATEWAY}/api/v1/auth/register/`,
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      setupRequest: (req) => ({
        ...req,
        body: JSON.stringify({ email: `load.${runId}.${(registrations += 1)}@example.com`, password: s.password, first_name: 'Load', last_name: 'Test' }),
      }),
    },
    false,
  );
  if (selected('register')) await drainIdentity(login);

  // Scaling figure: the same two pages at ~1k and ~1M tasks in one organization.
  const scaleProjectPage = `/api/v1/tasks/?project=${s.scaleProject}&limit=50`;
  const scaleMinePage = `/api/v1/tasks/?assigned_to=me&organization=${s.scaleOrg}&limit=50`;
  const projectAt = (n: number) => `GET /tasks/?project=&limit=50, ${n.toLocaleString('en')} tasks in org`;
  const mineAt = (n: number) => `GET /tasks/?assigned_to=me&organization=&limit=50, ${n.toLocaleString('en')} tasks in org`;
  const count = async () => (await db!.query('select count(*)::int as n from work.tasks where organization_id = $1', [s.scaleOrg])).rows[0].n as number;
  const small = await count();
  let large = small;
  if (selected(projectAt(small)) || selected(mineAt(small))) {
    for (const page of [scaleProjectPage, scaleMinePage]) await expectFullPage(page, token);
    await run({ name: projectAt(small), vs: 'page50', url: `${GATEWAY}${scaleProjectPage}` });
    await run({ name: mineAt(small), vs: 'page50', url: `${GATEWAY}${scaleMinePage}` });
    say(`inserting ${SCALE_SQL_ROWS.toLocaleString('en')} tasks with SQL in chunks of ${CHUNK.toLocaleString('en')}`);
    await insertRows(db, s);
    large = await count();
    await run({ name: projectAt(large), vs: 'page50', url: `${GATEWAY}${scaleProjectPage}` });
    await run({ name: mineAt(large), vs: 'page50', url: `${GATEWAY}${scaleMinePage}` });
  }

  await baselines('end');

  // --- the table: each ratio against the latest measurement of its reference before it ---
  const isReference = (r: Row) => /^(baseline|ceiling):/.test(r.scenario);
  const reference = (row: Row) => rows.slice(0, rows.indexOf(row) + 1).reverse().find((r) => r.vs === row.vs && isReference(r));
  const f = (x: number) => (x >= 100 ? x.toFixed(0) : x >= 10 ? x.toFixed(1) : x.toFixed(2));
  const load = (l: number[]) => l.map((x) => x.toFixed(2)).join(' ');
  const lines = [
    `DURATION=${DURATION}s per scenario, CONNECTIONS=${CONNECTIONS}, warm-up ${WARMUP}s; autocannon on the same machine (${os.cpus().length} cores); ` +
      `load average ${load(loadBefore)} before the run, ${load(os.loadavg())} after.`,
    '',
    '| scenario | req/s | p50 ms | p99 ms | non-2xx | req/s ratio | vs (the one measured last before it) | CPU ms/request |',
    '|---|---:|---:|---:|---:|---:|---|---|',
    ...rows.map(
      (r) =>
        `| ${r.scenario} | ${f(r.rps)} | ${r.p50} | ${r.p99} | ${r.non2xx}${r.errors ? ` (+${r.errors} errors/timeouts)` : ''} | ${(r.rps / (reference(r)?.rps ?? NaN)).toFixed(2)}x | ${REFERENCE_NAMES[r.vs]} | ${cpuText(r.cpu)} |`,
    ),
  ];
  const scaled = rows.filter((r) => r.scenario.endsWith('tasks in org'));
  for (const [label, a, b] of [
    ['project page', scaled[0], scaled[2]],
    ['assigned-to-me page', scaled[1], scaled[3]],
  ] as const) {
    if (a && b) lines.push(`| scaling ${label}: ${large.toLocaleString('en')} / ${small.toLocaleString('en')} tasks | ${(b.rps / a.rps).toFixed(2)}x | ${(b.p50 / a.p50).toFixed(2)}x | ${(b.p99 / a.p99).toFixed(2)}x | - | - | - | - |`);
  }
  process.stdout.write(`\n${lines.join('\n')}\n\n`);

  const statusLines = rows.filter((r) => r.non2xx || r.errors).map((r) => `  ${r.scenario}: ${r.statuses}`);
  if (statusLines.length) say(`status codes of scenarios with non-2xx or errors:\n${statusLines.join('\n')}`);
}

let finishing: Promise<void> | undefined;
/** Reports, stops the children and drops the database and vhost, once; a second caller waits for the first. */
async function finish(code: number): Promise<never> {
  if (!finishing) {
    finishing = (async () => {
      services.report(/^\{"listening"/);
      await cleanup?.();
      for (const name of services.names()) for (const line of services.logLines(name).filter((l) => l.startsWith('{"heap_sampled_bytes"'))) say(`${name} allocated: ${line}`);
    })();
    await finishing;
    process.exit(code);
  }
  await finishing;
  process.exit(process.exitCode ?? code);
}

const interrupted = (code: number) => () => {
  process.exitCode = code;
  say('interrupted: stopping the services and dropping the database');
  void finish(code);
};
process.on('SIGINT', interrupted(130));
process.on('SIGTERM', interrupted(143));

main().then(
  () => finish(0),
  (err) => {
    process.stderr.write(`\n[bench] failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    return finish(1);
  },
);
