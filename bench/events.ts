// Event backbone load: outbox -> relay -> RabbitMQ -> audit consumer (a separate process), measured
// against a bare-broker baseline (publish with confirms, consume with acks, no database) in the same run.
//   npm run build && npx tsx bench/events.ts            (RATE=500 SECONDS=20 BURST=20000 to change)
// Uses a throwaway database and vhost on the local servers; loopback only.
import amqplib from 'amqplib';
import { createDb, createLogger, migrate, Outbox, OutboxRelay, outboxMigration, type Knex, type NewEvent } from '@taskflow/shared';
import { createTestDatabase, createTestVhost, eventually } from '@taskflow/shared/testing';
import { randomUUID } from 'node:crypto';
import { BenchServices } from './services';

process.env.TEST_DATABASE_URL ??= process.env.BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
process.env.TEST_AMQP_URL ??= process.env.BENCH_AMQP_URL ?? 'amqp://guest:guest@127.0.0.1:5672';
const RATE = Number(process.env.RATE ?? 500);
const SECONDS = Number(process.env.SECONDS ?? 20);
const BURST = Number(process.env.BURST ?? 20000);

const orgs = Array.from({ length: 20 }, () => randomUUID());
const event = (i: number): NewEvent<'work.task.created'> => ({
  type: 'work.task.created',
  organization_id: orgs[i % orgs.length]!,
  actor: { id: randomUUID(), email: 'bench@example.com' },
  data: { task: { id: randomUUID(), project_id: randomUUID(), title: `Task ${i}` } },
});

async function processedCount(db: Knex): Promise<number> {
  const row = await db.raw('select count(*)::int as n from audit.processed_messages');
  return row.rows[0].n as number;
}

/** Lag from the event's commit to `until`: the audit commit (default) or the relay's claim of the row. */
async function lagPercentiles(db: Knex, since: Date, until = 'p.processed_at'): Promise<{ p50: number; p99: number; max: number; n: number }> {
  const { rows } = await db.raw(
    `select percentile_cont(0.5) within group (order by lag) as p50, percentile_cont(0.99) within group (order by lag) as p99, max(lag) as max, count(*)::int as n
       from (select extract(epoch from (${until} - (o.envelope->>'occurred_at')::timestamptz)) * 1000 as lag
               from audit.processed_messages p join bench.outbox o on o.id = p.message_id
              where o.created_at >= ?) l`,
    [since],
  );
  return { p50: Number(rows[0].p50), p99: Number(rows[0].p99), max: Number(rows[0].max), n: rows[0].n };
}

/** Bare broker: persistent messages published with confirms in windows, consumed with acks, no database. */
async function bareBroker(url: string, count: number, ratePerSecond?: number): Promise<{ perSecond: number; p50: number; p99: number }> {
  const connection = await amqplib.connect(url);
  const pub = await connection.createConfirmChannel();
  const sub = await connection.createChannel();
  const { queue } = await sub.assertQueue('', { exclusive: true });
  const lags: number[] = [];
  let received = 0;
  await sub.prefetch(200);
  const done = new Promise<void>((resolve) => {
    void sub.consume(queue, (msg) => {
      if (!msg) return;
      lags.push(Date.now() - Number(msg.properties.timestamp));
      sub.ack(msg);
      received += 1;
      if (received === count) resolve();
    });
  });
  const started = Date.now();
  for (let sent = 0; sent < count; ) {
    const window = ratePerSecond ? Math.max(1, Math.round(ratePerSecond / 100)) : 500;
    for (let i = 0; i < window && sent < count; i += 1, sent += 1) {
      pub.sendToQueue(queue, Buffer.from(JSON.stringify(event(sent))), { persistent: true, timestamp: Date.now() });
    }
    await pub.waitForConfirms();
    if (ratePerSecond) {
      const due = started + (sent / ratePerSecond) * 1000;
      if (due > Date.now()) await new Promise((r) => setTimeout(r, due - Date.now()));
    }
  }
  await done;
  const elapsed = (Date.now() - started) / 1000;
  await connection.close();
  lags.sort((a, b) => a - b);
  return { perSecond: count / elapsed, p50: lags[Math.floor(lags.length * 0.5)]!, p99: lags[Math.floor(lags.length * 0.99)]! };
}

async function main(): Promise<void> {
  const database = await createTestDatabase('bench_events');
  const vhost = await createTestVhost('bench_events');
  const logger = createLogger('bench', 'warn');
  const db = createDb({ url: database.url, schema: 'bench', poolMax: 20 });
  // The audit service, its log lines (LOG_LEVEL=warn) echoed to stderr as they come.
  const services = new BenchServices({ say: (msg) => process.stderr.write(`[bench] ${msg}\n`), echo: true });
  let relay: OutboxRelay | undefined;
  let broker: import('@taskflow/shared').Broker | undefined;
  try {
    await migrate(db, 'bench', [outboxMigration]);
    // Ready once migrated and consuming.
    await services.startOnFreePort('audit', { DATABASE_URL: database.url, AMQP_URL: vhost.url, LOG_LEVEL: 'warn' });
    const { Broker } = await import('@taskflow/shared');
    broker = await Broker.connect(vhost.url, logger);
    const outbox = new Outbox('bench');
    relay = new OutboxRelay({ db, databaseUrl: database.url, outbox, broker, logger });
    await relay.start();
    // Warm up every path once.
    await db.transaction((trx) => outbox.add(trx, event(0)));
    await eventually(async () => (await processedCount(db)) === 1, 30000, 50);

    // 1. Steady rate: RATE events a second, each in its own transaction, for SECONDS.
    const steadyStart = new Date();
    const total = RATE * SECONDS;
    const t0 = Date.now();
    const writes: Promise<unknown>[] = [];
    for (let i = 0; i < total; ) {
      const due = Math.min(total, Math.floor(((Date.now() - t0) / 1000) * RATE));
      for (; i < due; i += 1) writes.push(db.transaction((trx) => outbox.add(trx, event(i))));
      await new Promise((r) => setTimeout(r, 2));
    }
    await Promise.all(writes);
    await eventually(async () => (await processedCount(db)) >= total + 1, 120000, 100);
    const steady = await lagPercentiles(db, steadyStart);
    const relayed = await lagPercentiles(db, steadyStart, 'o.published_at');

    // 2. Burst: BURST events in transactions of 100, as fast as they can be written; time until all are in audit.
    const before = await processedCount(db);
    const burstStart = Date.now();
    for (let i = 0; i < BURST; i += 100) {
      await db.transaction((trx) => outbox.add(trx, ...Array.from({ length: Math.min(100, BURST - i) }, (_, j) => event(i + j))));
    }
    const written = (Date.now() - burstStart) / 1000;
    await eventually(async () => (await processedCount(db)) >= before + BURST, 300000, 50);
    const burstSeconds = (Date.now() - burstStart) / 1000;

    // 3. Baseline, same run: the broker alone at the same steady rate, then flat out.
    const bareSteady = await bareBroker(vhost.url, Math.min(total, RATE * 10), RATE);
    const bareBurst = await bareBroker(vhost.url, BURST);

    const f = (n: number) => (Number.isFinite(n) ? n.toFixed(n < 10 ? 1 : 0) : String(n));
    const lines = [
      `| measure | pipeline (outbox -> relay -> broker -> audit) | baseline (bare broker, no DB) | ratio |`,
      `|---|---|---|---|`,
      `| commit-to-activity lag at ${RATE}/s, p50 | ${f(steady.p50)} ms | ${f(bareSteady.p50)} ms | - |`,
      `| commit-to-activity lag at ${RATE}/s, p99 | ${f(steady.p99)} ms (max ${f(steady.max)} ms, n=${steady.n}) | ${f(bareSteady.p99)} ms | - |`,
      `| of which commit-to-relay-claim, p50 / p99 | ${f(relayed.p50)} / ${f(relayed.p99)} ms | - | - |`,
      `| sustained events/s (burst of ${BURST}) | ${f(BURST / burstSeconds)} /s (written at ${f(BURST / written)} /s) | ${f(bareBurst.perSecond)} /s | ${(BURST / burstSeconds / bareBurst.perSecond).toFixed(2)}x |`,
    ];
    process.stdout.write(`\n${lines.join('\n')}\n`);
  } finally {
    await relay?.stop();
    await broker?.close();
    await services.stopAll();
    await db.destroy();
    await database.drop();
    await vhost.drop();
  }
}

main().catch((err) => {
  process.stderr.write(`${err instanceof Error ? err.stack : String(err)}\n`);
  process.exit(1);
});
