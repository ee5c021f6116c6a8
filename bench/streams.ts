// Live streams under load: commit-to-stream latency with many open change-feed streams on one audit
// process (a separate process, as in production), the memory an open stream costs, and what the gateway
// spends per streamed event. Baselines in the same run: the latency with one open stream at the same
// write rate, and audit's own CPU per delivered event.
//   npm run bench:streams        (STREAMS=1000 RATE=200 SECONDS=20 ORGS=10 GATEWAY_STREAMS=100 to change)
// Uses a throwaway database and vhost on the local servers; loopback only.
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { followActivity } from '@taskflow/client';
import { beforeCommit, createDb, inTransaction, type Knex, storeMembership } from '@taskflow/shared';
import { createTestDatabase, createTestTokens, createTestVhost, eventually, freePort } from '@taskflow/shared/testing';
import { appendToFeeds } from '../services/audit/src/db/feed';
import { AUDIT_SCHEMA } from '../services/audit/src/db/migrations';
import { activityOf } from '../services/audit/src/domain/activity';
import { envelopeOf, events } from '../services/audit/test/support';
import { BenchServices } from './services';

process.env.TEST_DATABASE_URL ??= process.env.BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
process.env.TEST_AMQP_URL ??= process.env.BENCH_AMQP_URL ?? 'amqp://guest:guest@127.0.0.1:5672';
const STREAMS = Number(process.env.STREAMS ?? 1000);
const RATE = Number(process.env.RATE ?? 200);
const SECONDS = Number(process.env.SECONDS ?? 20);
const ORGS = Number(process.env.ORGS ?? 10);
/** Streams of the load whose every event is parsed and timed (the rest are read and discarded, as cheaply as a client can). */
const MEASURED = Number(process.env.MEASURED ?? 100);
const GATEWAY_STREAMS = Number(process.env.GATEWAY_STREAMS ?? 100);
const WRITERS = Number(process.env.WRITERS ?? 4);
const BATCH = Number(process.env.BATCH ?? 50);

const tokens = createTestTokens();
const orgs = Array.from({ length: ORGS }, () => randomUUID());
const owner = { id: randomUUID(), email: 'bench-owner@example.com' };

/** Identity's JWKS, served by a stand-in so audit and the gateway verify the bench's tokens as they would identity's. */
async function startJwks(): Promise<{ url: string; close(): Promise<void> }> {
  const server = http.createServer((_req, res) => {
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify(tokens.jwks));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, close: () => new Promise((resolve) => server.close(() => resolve())) };
}

/** audit and the gateway, their log lines (LOG_LEVEL=warn) echoed to stderr as they come. */
const services = new BenchServices({ say: (msg) => process.stderr.write(`[bench] ${msg}\n`), echo: true });
const QUIET = { LOG_LEVEL: 'warn', NODE_ENV: 'test' };

/** CPU seconds (user + system) a process has used, from /proc. */
function cpuSeconds(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

async function metric(url: string, name: string): Promise<number> {
  const text = await (await fetch(`${url}/metrics`)).text();
  return Number(new RegExp(`^${name}(?:\\{[^}]*\\})? ([0-9.e+]+)`, 'm').exec(text)?.[1]);
}

/** A stream read and discarded (a client that keeps up, at the least cost to this process). */
function drainedStream(url: string, user: { id: string; email: string }, org: string): Promise<http.ClientRequest> {
  return new Promise((resolve, reject) => {
    const req = http.get(`${url}/api/v1/activity/stream/?organization=${org}`, { headers: { authorization: `Bearer ${tokens.sign(user)}` }, agent: false }, (res) => {
      if (res.statusCode !== 200) return reject(new Error(`stream: ${res.statusCode}`));
      res.resume();
      resolve(req);
    });
    req.on('error', reject);
  });
}

/** A stream whose every event is timed against the commit time of its entry (through the typed client's helper). */
function measuredStream(url: string, user: { id: string; email: string }, org: string, committed: Map<string, number>, latencies: number[], signal: AbortSignal): Promise<void> {
  let opened!: () => void;
  const isOpen = new Promise<void>((resolve) => (opened = resolve));
  const watched: typeof fetch = async (input, init) => {
    const response = await fetch(input, init);
    opened();
    return response;
  };
  void (async () => {
    for await (const event of followActivity(url, { organization: org, token: tokens.sign(user), signal, fetch: watched })) {
      const at = committed.get(event.id);
      if (at !== undefined) latencies.push(performance.now() - at);
    }
  })().catch(() => undefined);
  return isOpen;
}

/** The entry audit records for a task created in `org`. */
const entry = (org: string, i: number) => activityOf(envelopeOf(events.taskCreated(org, `Bench ${i}`, owner)))!;

/**
 * RATE entries a second for SECONDS, written as audit's consumer writes them: WRITERS transactions at a
 * time, each taking every entry due when it starts (up to BATCH), as the consumer applies the deliveries
 * that arrived together in one transaction. `committed` gets each id's time at COMMIT (a step that runs
 * after the feed rows are written, just before the commit). Returns the count and the rate achieved.
 */
async function write(db: Knex, committed: Map<string, number>): Promise<{ total: number; perSecond: number }> {
  const total = RATE * SECONDS;
  const t0 = performance.now();
  let next = 0;
  const writer = async () => {
    while (next < total) {
      const due = Math.min(total, Math.floor(((performance.now() - t0) / 1000) * RATE) + 1);
      if (due <= next) {
        await new Promise((r) => setTimeout(r, Math.max(1, t0 + (next / RATE) * 1000 - performance.now())));
        continue;
      }
      const records: Array<ReturnType<typeof entry>> = [];
      for (; next < due && records.length < BATCH; next += 1) records.push(entry(orgs[next % orgs.length]!, next));
      await inTransaction(db, async (trx) => {
        for (const record of records) await appendToFeeds(trx, record, []);
        beforeCommit(trx, async () => {
          const at = performance.now();
          for (const record of records) committed.set(record.id, at);
        });
      });
    }
  };
  await Promise.all(Array.from({ length: WRITERS }, writer));
  return { total, perSecond: total / ((performance.now() - t0) / 1000) };
}

const percentile = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))] ?? NaN;
const f = (n: number) => (Number.isFinite(n) ? n.toFixed(n < 10 ? 1 : 0) : String(n));

interface Phase {
  p50: number;
  p99: number;
  n: number;
}

/** Opens `measured` timed streams (and `drained` untimed ones) on `url`, writes, and returns the latencies of the timed ones. */
async function phase(db: Knex, url: string, users: Array<{ id: string; email: string }>, measured: number, drained: number, onLoaded?: () => void): Promise<Phase & { delivered: number; perSecond: number }> {
  const committed = new Map<string, number>();
  const latencies: number[] = [];
  const stopAll = new AbortController();
  const requests: http.ClientRequest[] = [];
  try {
    const timed = [];
    for (let i = 0; i < measured; i += 1) timed.push(measuredStream(url, users[i]!, orgs[i % orgs.length]!, committed, latencies, stopAll.signal));
    await Promise.all(timed);
    for (let i = measured; i < measured + drained; i += 50) {
      requests.push(...(await Promise.all(Array.from({ length: Math.min(50, measured + drained - i) }, (_, j) => drainedStream(url, users[i + j]!, orgs[(i + j) % orgs.length]!)))));
    }
    onLoaded?.();
    const { total, perSecond } = await write(db, committed);
    const expected = (total * measured) / orgs.length;
    await eventually(() => latencies.length >= expected, 60_000, 50).catch(() => undefined);
    const sorted = [...latencies].sort((a, b) => a - b);
    return { p50: percentile(sorted, 0.5), p99: percentile(sorted, 0.99), n: sorted.length, delivered: (total * (measured + drained)) / orgs.length, perSecond };
  } finally {
    stopAll.abort();
    for (const req of requests) req.destroy();
  }
}

async function main(): Promise<void> {
  const database = await createTestDatabase('bench_streams');
  const vhost = await createTestVhost('bench_streams');
  const mailDir = await mkdtemp(path.join(tmpdir(), 'bench-streams-mail-'));
  const jwks = await startJwks();
  const db = createDb({ url: database.url, schema: AUDIT_SCHEMA, poolMax: WRITERS + 2 });
  try {
    const auditUrl = await services.startOnFreePort('audit', { ...QUIET, DATABASE_URL: database.url, AMQP_URL: vhost.url, IDENTITY_URL: jwks.url, STREAMS_PER_USER: '100', MAIL_OUTBOX_DIR: mailDir });
    // One member per stream, spread over the organizations, straight into audit's membership replica.
    const users = Array.from({ length: STREAMS }, (_, i) => ({ id: randomUUID(), email: `bench-${i}@example.com` }));
    await inTransaction(db, async (trx) => {
      for (const [i, user] of users.entries()) await storeMembership(trx, { organization_id: orgs[i % orgs.length]!, user_id: user.id, role: 'member', version: 1 });
    });
    // Warm every path once.
    await phase(db, auditUrl, users, Math.min(ORGS, STREAMS), 0);

    // 1. Memory of an open stream: audit's resident and heap memory before and with STREAMS idle streams.
    const rssBefore = await metric(auditUrl, 'process_resident_memory_bytes');
    const heapBefore = await metric(auditUrl, 'nodejs_heap_size_used_bytes');
    const idle: http.ClientRequest[] = [];
    for (let i = 0; i < STREAMS; i += 50) idle.push(...(await Promise.all(users.slice(i, i + 50).map((u, j) => drainedStream(auditUrl, u, orgs[(i + j) % orgs.length]!)))));
    await eventually(async () => (await metric(auditUrl, 'audit_open_streams')) === STREAMS, 30_000, 100);
    await new Promise((r) => setTimeout(r, 2000));
    const rssOpen = await metric(auditUrl, 'process_resident_memory_bytes');
    const heapOpen = await metric(auditUrl, 'nodejs_heap_size_used_bytes');
    for (const req of idle) req.destroy();
    await eventually(async () => (await metric(auditUrl, 'audit_open_streams')) === 0, 30_000, 100);

    // 2. Baseline: one open stream at the same write rate. 3. STREAMS open streams (MEASURED of them timed).
    const single = await phase(db, auditUrl, users, 1, 0);
    const loaded = await phase(db, auditUrl, users, Math.min(MEASURED, STREAMS), Math.max(0, STREAMS - MEASURED));

    // 4. The gateway's cost: GATEWAY_STREAMS streams through it, then the same straight to audit; CPU per delivered event.
    // Its /readyz wants every upstream, and only audit (and the keys' stand-in) is behind it: /healthz says it is up.
    const gatewayUrl = await services.startOnFreePort(
      'gateway',
      { ...QUIET, METRICS_PORT: String(await freePort()), IDENTITY_URL: jwks.url, AUDIT_URL: auditUrl, WRITE_RATE_LIMIT_PER_MINUTE: '100000000', AUTH_RATE_LIMIT_PER_MINUTE: '100000000' },
      { probe: '/healthz' },
    );
    const cpu = async (url: string) => {
      const used = () => [cpuSeconds(services.pid('gateway')), cpuSeconds(services.pid('audit'))] as const;
      let before = [0, 0] as readonly [number, number];
      const result = await phase(db, url, users, GATEWAY_STREAMS, 0, () => (before = used()));
      const after = used();
      return { ...result, gatewayCpu: after[0] - before[0], auditCpu: after[1] - before[1] };
    };
    const direct = await cpu(auditUrl);
    const through = await cpu(gatewayUrl);
    const perEvent = (seconds: number, events: number) => (seconds / events) * 1e6;

    const mib = (bytes: number) => bytes / 1024 / 1024;
    const lines = [
      `| measure | value | baseline (same run) | ratio |`,
      `|---|---|---|---|`,
      `| commit-to-stream p50, ${STREAMS} open streams, ${RATE} writes/s over ${ORGS} organizations (achieved ${f(loaded.perSecond)}/s; baseline ${f(single.perSecond)}/s) | ${f(loaded.p50)} ms | ${f(single.p50)} ms (1 open stream) | ${(loaded.p50 / single.p50).toFixed(2)}x |`,
      `| commit-to-stream p99, same (goal < 250 ms) | ${f(loaded.p99)} ms (n=${loaded.n} timed deliveries of ${loaded.delivered}) | ${f(single.p99)} ms | ${(loaded.p99 / single.p99).toFixed(2)}x |`,
      `| memory per open stream (resident / JS heap) | ${f((rssOpen - rssBefore) / STREAMS / 1024)} KiB / ${f((heapOpen - heapBefore) / STREAMS / 1024)} KiB | audit idle: ${f(mib(rssBefore))} MiB / ${f(mib(heapBefore))} MiB | - |`,
      `| gateway CPU per streamed event (${GATEWAY_STREAMS} streams) | ${f(perEvent(through.gatewayCpu, through.delivered))} µs | audit's CPU per event in that phase: ${f(perEvent(through.auditCpu, through.delivered))} µs | ${(through.gatewayCpu / through.auditCpu).toFixed(2)}x |`,
      `| commit-to-stream p50 / p99 through the gateway (${GATEWAY_STREAMS} streams) | ${f(through.p50)} / ${f(through.p99)} ms | straight to audit: ${f(direct.p50)} / ${f(direct.p99)} ms | ${(through.p50 / direct.p50).toFixed(2)}x / ${(through.p99 / direct.p99).toFixed(2)}x |`,
    ];
    process.stdout.write(`\n${lines.join('\n')}\n`);
  } finally {
    await services.stopAll();
    await db.destroy();
    await jwks.close();
    await database.drop();
    await vhost.drop();
    await rm(mailDir, { recursive: true, force: true });
  }
}

main().catch((err) => {
  process.stderr.write(`${err instanceof Error ? err.stack : String(err)}\n`);
  process.exit(1);
});
