// What tracing costs: task detail through the gateway with tracing off and on (exporting every span
// over OTLP/HTTP to a local receiver that discards them), in the same run, interleaved.
//   npm run build && npx tsx bench/tracing.ts     (ROUNDS=2 pairs, DURATION=10 s each, CONNECTIONS=50)
// Two systems run side by side on free loopback ports (test/faults/cluster.ts: the built services as
// processes, a throwaway database and vhost each), identical but for OTEL_EXPORTER_OTLP_ENDPOINT; each
// is seeded with one task and loaded in turn (off, on, off, on, ...). Prints a markdown table on stdout.
import autocannon from 'autocannon';
import { startOtlpReceiver } from '@taskflow/shared/testing';
import { type Cluster, startCluster } from '../test/faults/cluster';
import { orgWithProject } from '../test/faults/helpers';

process.env.TEST_DATABASE_URL ??= process.env.BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
process.env.TEST_AMQP_URL ??= process.env.BENCH_AMQP_URL ?? 'amqp://guest:guest@127.0.0.1:5672';
const DURATION = Number(process.env.DURATION ?? 10);
const CONNECTIONS = Number(process.env.CONNECTIONS ?? 50);
const WARMUP = Number(process.env.WARMUP ?? 2);
const ROUNDS = Number(process.env.ROUNDS ?? 2);

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
}

async function seeded(label: Target['label'], cluster: Cluster): Promise<Target> {
  const { owner, project } = await orgWithProject(cluster.url, `Trace${label}`);
  const task = await owner.call('POST', '/api/v1/tasks/', { project: project.id, title: 'Measured' });
  if (task.status !== 201) throw new Error(`create task: ${task.status}`);
  const url = `${cluster.url}/api/v1/tasks/${task.body.id}/`;
  const check = await owner.call('GET', `/api/v1/tasks/${task.body.id}/`);
  if (check.status !== 200) throw new Error(`task detail: ${check.status}`);
  return { label, cluster, url, token: owner.access };
}

async function measure(t: Target): Promise<Measured> {
  const options = { url: t.url, connections: CONNECTIONS, headers: { authorization: `Bearer ${t.token}` }, timeout: 20 };
  if (WARMUP > 0) await autocannon({ ...options, duration: WARMUP });
  const r = await autocannon({ ...options, duration: DURATION });
  const m = { rps: r.requests.total / r.duration, p50: r.latency.p50, p99: r.latency.p99, failed: r.non2xx + r.errors + r.timeouts };
  say(`tracing ${t.label}: ${m.rps.toFixed(0)} req/s, p50 ${m.p50} ms, p99 ${m.p99} ms${m.failed ? `, ${m.failed} failed` : ''}`);
  return m;
}

const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;

async function main(): Promise<void> {
  const receiver = await startOtlpReceiver({ keepSpans: false });
  const clusters: Cluster[] = [];
  try {
    say('starting two systems (tracing off, tracing on)');
    const off = await startCluster({ logLevel: 'warn', startTimeoutMs: 120_000 });
    clusters.push(off);
    const on = await startCluster({ logLevel: 'warn', startTimeoutMs: 120_000, env: { OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url } });
    clusters.push(on);
    const targets = [await seeded('off', off), await seeded('on', on)];
    const results: Record<Target['label'], Measured[]> = { off: [], on: [] };
    for (let round = 0; round < ROUNDS; round += 1) {
      for (const t of targets) results[t.label].push(await measure(t));
    }
    if (receiver.exports === 0) throw new Error('the traced system exported nothing: is tracing on?');
    const summary = (label: Target['label']) => ({
      rps: mean(results[label].map((m) => m.rps)),
      p50: mean(results[label].map((m) => m.p50)),
      p99: mean(results[label].map((m) => m.p99)),
      failed: results[label].reduce((n, m) => n + m.failed, 0),
    });
    const a = summary('off');
    const b = summary('on');
    const lines = [
      `| GET /tasks/{id}/ through the gateway (${CONNECTIONS} connections, ${ROUNDS} x ${DURATION} s each) | req/s | p50 ms | p99 ms | failed |`,
      '|---|---|---|---|---|',
      `| tracing off | ${a.rps.toFixed(0)} | ${a.p50.toFixed(1)} | ${a.p99.toFixed(1)} | ${a.failed} |`,
      `| tracing on (OTLP/HTTP to a local receiver, ${receiver.exports} exports) | ${b.rps.toFixed(0)} | ${b.p50.toFixed(1)} | ${b.p99.toFixed(1)} | ${b.failed} |`,
      `| on / off | ${(b.rps / a.rps).toFixed(3)}x | ${(b.p50 / a.p50).toFixed(2)}x | ${(b.p99 / a.p99).toFixed(2)}x | |`,
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
