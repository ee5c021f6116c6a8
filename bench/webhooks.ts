// Webhook delivery load: events committed to an outbox -> relay -> RabbitMQ -> the built webhooks service
// (a separate process) -> signed POSTs to receivers on 127.0.0.1, against a same-run baseline of plain POSTs
// of the same body to the same receiver (keep-alive, as many in flight as the service allows itself).
//   npm run bench:webhooks        (BURST=300 ENDPOINTS=16 RATE=50 SECONDS=10 to change)
// Measures: deliveries/s to receivers that answer at once; commit-to-delivery latency p50/p99 at a steady
// write rate; the same deliveries/s while one more endpoint of the organization sleeps 10 s on every request.
// Uses a throwaway database and vhost on the local servers; loopback only.
import { randomUUID } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Broker, createDb, createLogger, migrate, Outbox, OutboxRelay, outboxMigration, type NewEvent } from '@taskflow/shared';
import { createTestDatabase, createTestVhost, eventually } from '@taskflow/shared/testing';
import { WEBHOOK_SECRET_KEY_DEV_DEFAULT } from '../services/webhooks/src/config';
import { newSecret, SecretBox } from '../services/webhooks/src/domain/secrets';
import { BenchServices } from './services';

process.env.TEST_DATABASE_URL ??= process.env.BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
process.env.TEST_AMQP_URL ??= process.env.BENCH_AMQP_URL ?? 'amqp://guest:guest@127.0.0.1:5672';
/** Events per throughput run; each is delivered to every fast endpoint. */
const BURST = Number(process.env.BURST ?? 300);
/** Fast endpoints: 16 x 4 per endpoint = the service's 64 attempts in flight (WEBHOOK_CONCURRENCY). */
const ENDPOINTS = Number(process.env.ENDPOINTS ?? 16);
const RATE = Number(process.env.RATE ?? 50);
const SECONDS = Number(process.env.SECONDS ?? 10);
const SLOW_MS = Number(process.env.SLOW_MS ?? 10_000);
const CONCURRENCY = 64;

const percentile = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))]!;
const f = (n: number) => (Number.isFinite(n) ? n.toFixed(n < 10 ? 1 : 0) : String(n));

interface Receipt {
  path: string;
  at: number;
  timestamp: string;
}

/** The receivers: `/fast/<n>` answers 204 at once, `/slow` after SLOW_MS; every request is recorded. */
async function startReceivers() {
  const receipts: Receipt[] = [];
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const at = Date.now();
      let timestamp = '';
      try {
        timestamp = (JSON.parse(Buffer.concat(chunks).toString('utf8')) as { timestamp?: string }).timestamp ?? '';
      } catch {
        /* the baseline's body is the same shape; nothing else arrives */
      }
      receipts.push({ path: req.url ?? '', at, timestamp });
      if (req.url === '/slow') setTimeout(() => res.writeHead(204).end(), SLOW_MS).unref();
      else res.writeHead(204).end();
    });
  });
  server.keepAliveTimeout = 30_000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    base,
    receipts,
    close: () => {
      server.closeAllConnections();
      return new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** The baseline: `count` plain POSTs of `body` to `url` with `inFlight` at a time over keep-alive, or one at a time at `rate`/s; latency per request. */
async function plainPosts(url: string, body: string, count: number, options: { inFlight?: number; rate?: number }): Promise<{ perSecond: number; p50: number; p99: number }> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: options.inFlight ?? 1 });
  const post = () =>
    new Promise<number>((resolve, reject) => {
      const t0 = performance.now();
      const req = http.request(url, { method: 'POST', agent, headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } }, (res) => {
        res.resume();
        res.on('end', () => resolve(performance.now() - t0));
      });
      req.on('error', reject);
      req.end(body);
    });
  const latencies: number[] = [];
  const started = Date.now();
  if (options.rate) {
    for (let i = 0; i < count; i += 1) {
      const due = started + (i / options.rate) * 1000;
      if (due > Date.now()) await new Promise((r) => setTimeout(r, due - Date.now()));
      latencies.push(await post());
    }
  } else {
    let next = 0;
    await Promise.all(
      Array.from({ length: options.inFlight ?? 1 }, async () => {
        while (next < count) {
          next += 1;
          latencies.push(await post());
        }
      }),
    );
  }
  const elapsed = (Date.now() - started) / 1000;
  agent.destroy();
  latencies.sort((a, b) => a - b);
  return { perSecond: count / elapsed, p50: percentile(latencies, 0.5), p99: percentile(latencies, 0.99) };
}

async function main(): Promise<void> {
  const database = await createTestDatabase('bench_webhooks');
  const vhost = await createTestVhost('bench_webhooks');
  const logger = createLogger('bench', 'warn');
  const db = createDb({ url: database.url, schema: 'bench', poolMax: 20 });
  const receivers = await startReceivers();
  // The webhooks service, its log lines (LOG_LEVEL=warn) echoed to stderr as they come.
  const services = new BenchServices({ say: (msg) => process.stderr.write(`[bench] ${msg}\n`), echo: true });
  let relay: OutboxRelay | undefined;
  let broker: Broker | undefined;
  try {
    await migrate(db, 'bench', [outboxMigration]);
    await services.startOnFreePort('webhooks', { NODE_ENV: 'development', DATABASE_URL: database.url, AMQP_URL: vhost.url, LOG_LEVEL: 'warn', WEBHOOK_ALLOW_PRIVATE_NETWORKS: 'true' });
    broker = await Broker.connect(vhost.url, logger);
    const outbox = new Outbox('bench');
    relay = new OutboxRelay({ db, databaseUrl: database.url, outbox, broker, logger });
    await relay.start();

    // One organization with ENDPOINTS fast endpoints and one slow (disabled until its run), another with one fast endpoint for the latency run.
    const box = new SecretBox(WEBHOOK_SECRET_KEY_DEV_DEFAULT);
    const busyOrg = randomUUID();
    const steadyOrg = randomUUID();
    const endpoint = (organization: string, url: string, enabled = true) => ({
      organization_id: organization,
      url,
      events: ['*'],
      description: 'bench',
      enabled,
      secret_encrypted: box.seal(newSecret()),
    });
    const [slow] = await db('webhooks.endpoints').insert(endpoint(busyOrg, `${receivers.base}/slow`, false)).returning('id');
    await db('webhooks.endpoints').insert([
      ...Array.from({ length: ENDPOINTS }, (_, i) => endpoint(busyOrg, `${receivers.base}/fast/${i}`)),
      endpoint(steadyOrg, `${receivers.base}/fast/steady`),
    ]);
    const event = (organization: string, i: number): NewEvent<'work.task.created'> => ({
      type: 'work.task.created',
      organization_id: organization,
      actor: { id: randomUUID(), email: 'bench@example.com' },
      data: { task: { id: randomUUID(), project_id: randomUUID(), title: `Task ${i}` } },
    });
    const fastReceipts = () => receivers.receipts.filter((r) => r.path.startsWith('/fast/') && r.path !== '/fast/steady').length;

    // Warm up every path once.
    await db.transaction((trx) => outbox.add(trx, event(steadyOrg, 0)));
    await eventually(() => receivers.receipts.some((r) => r.path === '/fast/steady'), 30_000, 20);
    const sampleBody = JSON.stringify({ id: randomUUID(), type: 'task.created', timestamp: new Date().toISOString(), organization: busyOrg, data: { actor: randomUUID(), actor_email: 'bench@example.com', target: { type: 'task', id: randomUUID() }, changes: {}, object: { id: randomUUID(), organization: busyOrg, project: randomUUID(), title: 'Task 1' } } });

    /** Writes BURST events in transactions of 50 and returns fast deliveries/s until every fast endpoint has each. */
    const burst = async (): Promise<number> => {
      const before = fastReceipts();
      const started = Date.now();
      for (let i = 0; i < BURST; i += 50) {
        await db.transaction((trx) => outbox.add(trx, ...Array.from({ length: Math.min(50, BURST - i) }, (_, j) => event(busyOrg, i + j))));
      }
      await eventually(() => fastReceipts() >= before + BURST * ENDPOINTS, 600_000, 20);
      return (BURST * ENDPOINTS) / ((Date.now() - started) / 1000);
    };

    // 1. Deliveries/s to receivers that answer at once, against plain POSTs of the same body (64 in flight).
    const baselineBurst = await plainPosts(`${receivers.base}/fast/baseline`, sampleBody, BURST * ENDPOINTS, { inFlight: CONCURRENCY });
    const fast1 = await burst();

    // 2. The same while one more endpoint of the organization sleeps SLOW_MS on every request.
    await db('webhooks.endpoints').where({ id: slow.id }).update({ enabled: true });
    const slowBefore = receivers.receipts.filter((r) => r.path === '/slow').length;
    const withSlow = await burst();
    const slowReached = receivers.receipts.filter((r) => r.path === '/slow').length - slowBefore;
    await db('webhooks.endpoints').where({ id: slow.id }).update({ enabled: false });
    const fast2 = await burst();
    const fast = (fast1 + fast2) / 2;

    // 3. Commit-to-delivery latency at a steady rate to one endpoint, against plain POSTs at the same rate.
    const steadyFrom = receivers.receipts.length;
    const total = RATE * SECONDS;
    const t0 = Date.now();
    for (let i = 0; i < total; ) {
      const due = Math.min(total, Math.floor(((Date.now() - t0) / 1000) * RATE));
      for (; i < due; i += 1) await db.transaction((trx) => outbox.add(trx, event(steadyOrg, i)));
      await new Promise((r) => setTimeout(r, 5));
    }
    await eventually(() => receivers.receipts.slice(steadyFrom).filter((r) => r.path === '/fast/steady').length >= total, 120_000, 20);
    const lags = receivers.receipts
      .slice(steadyFrom)
      .filter((r) => r.path === '/fast/steady')
      .map((r) => r.at - Date.parse(r.timestamp))
      .sort((a, b) => a - b);
    // Where the time goes: commit to the delivery row (relay, broker, consumer fan-out), then row to the receiver (claim, sign, POST).
    const { rows: stages } = await db.raw(
      `select percentile_cont(0.5) within group (order by queued) as queued_p50, percentile_cont(0.99) within group (order by queued) as queued_p99,
              percentile_cont(0.5) within group (order by sent) as sent_p50, percentile_cont(0.99) within group (order by sent) as sent_p99
         from (select extract(epoch from d.created_at - (d.body::json->>'timestamp')::timestamptz) * 1000 as queued,
                      extract(epoch from d.delivered_at - d.created_at) * 1000 as sent
                 from webhooks.deliveries d where d.organization_id = ? and d.delivered_at is not null) s`,
      [steadyOrg],
    );
    const stage = stages[0] as { queued_p50: number; queued_p99: number; sent_p50: number; sent_p99: number };
    const baselineSteady = await plainPosts(`${receivers.base}/fast/baseline`, sampleBody, Math.min(total, RATE * 5), { rate: RATE });

    const lines = [
      `| measure | webhooks (outbox -> relay -> broker -> webhooks -> receiver) | baseline (plain POSTs, same receiver) | ratio |`,
      `|---|---|---|---|`,
      `| deliveries/s, ${BURST} events x ${ENDPOINTS} endpoints answering at once | ${f(fast)} /s (runs: ${f(fast1)}, ${f(fast2)}) | ${f(baselineBurst.perSecond)} /s (${CONCURRENCY} in flight) | ${(fast / baselineBurst.perSecond).toFixed(3)}x |`,
      `| the same while a ${ENDPOINTS + 1}th endpoint sleeps ${SLOW_MS / 1000} s per request | ${f(withSlow)} /s (the slow one got ${slowReached} requests) | ${f(fast)} /s (without it) | ${(withSlow / fast).toFixed(2)}x |`,
      `| commit-to-delivery at ${RATE}/s, p50 | ${f(percentile(lags, 0.5))} ms | ${f(baselineSteady.p50)} ms (one POST) | - |`,
      `| commit-to-delivery at ${RATE}/s, p99 | ${f(percentile(lags, 0.99))} ms (max ${f(lags[lags.length - 1]!)} ms, n=${lags.length}) | ${f(baselineSteady.p99)} ms | - |`,
      `| of which commit to delivery row, p50 / p99 | ${f(Number(stage.queued_p50))} / ${f(Number(stage.queued_p99))} ms | - | - |`,
      `| of which delivery row to recorded success, p50 / p99 | ${f(Number(stage.sent_p50))} / ${f(Number(stage.sent_p99))} ms | - | - |`,
    ];
    process.stdout.write(`\n${lines.join('\n')}\n`);
  } finally {
    await relay?.stop();
    await broker?.close();
    await services.stopAll();
    await receivers.close();
    await db.destroy();
    await database.drop();
    await vhost.drop();
  }
}

main().catch((err) => {
  process.stderr.write(`${err instanceof Error ? err.stack : String(err)}\n`);
  process.exit(1);
});
