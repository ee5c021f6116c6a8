// One trace from the client to the activity log: the BUILT services as processes (test/faults/cluster.ts)
// exporting to a local OTLP receiver; the spans of a task creation must form one tree across processes.
import { randomBytes, randomUUID } from 'node:crypto';
import { eventually, type OtlpReceiver, type ReceivedSpan, SPAN_KIND, startOtlpReceiver } from '@taskflow/shared/testing';
import { type Cluster, startCluster } from '../faults/cluster';
import { orgWithProject } from '../faults/helpers';

const one = (spans: ReceivedSpan[], what: string, match: (s: ReceivedSpan) => boolean): ReceivedSpan => {
  const found = spans.filter(match);
  if (found.length !== 1) throw new Error(`expected one ${what}, found ${found.length} in ${JSON.stringify(spans.map((s) => [s.service, s.kind, s.name]))}`);
  return found[0]!;
};

describe('traces over OTLP', () => {
  let receiver: OtlpReceiver;
  let cluster: Cluster;

  beforeAll(async () => {
    receiver = await startOtlpReceiver();
    // Batches leave every 100 ms instead of 5 s, so spans arrive while the test waits for them. Five
    // processes start at once on two shared cores: give them time.
    cluster = await startCluster({
      env: { OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url, OTEL_BSP_SCHEDULE_DELAY: '100' },
      // Registration hashes with scrypt: on a loaded machine it outlasts the harness's 5 s upstream timeout.
      gatewayEnv: { UPSTREAM_TIMEOUT_MS: '30000' },
      startTimeoutMs: 90_000,
    });
  }, 200_000);
  afterAll(async () => {
    await cluster?.stop();
    await receiver?.close();
  });

  it('runs one trace from the client traceparent through the gateway, work, PostgreSQL, the outbox and RabbitMQ to audit', async () => {
    const { owner, org, project } = await orgWithProject(cluster.url, 'Tracy');
    const traceId = randomBytes(16).toString('hex');
    const clientSpanId = randomBytes(8).toString('hex');

    const res = await owner.call('POST', '/api/v1/tasks/', { project: project.id, title: 'Followed end to end' }, { traceparent: `00-${traceId}-${clientSpanId}-01` });
    expect(res.status).toBe(201);

    const inTrace = () => receiver.spans.filter((s) => s.traceId === traceId);
    // Each process exports its own batches: wait until the gateway's spans are in as well as audit's
    // (audit's consume can arrive before the gateway's batch leaves).
    const consumed = await eventually(
      () => {
        const spans = inTrace();
        const gatewayDone = spans.some((s) => s.service === 'gateway' && s.kind === SPAN_KIND.server) && spans.some((s) => s.service === 'gateway' && s.kind === SPAN_KIND.client);
        return gatewayDone && spans.find((s) => s.service === 'audit' && s.kind === SPAN_KIND.consumer && s.name === 'work.task.created process');
      },
      60_000,
      100,
    );
    const spans = inTrace();
    const gatewayServer = one(spans, 'gateway SERVER span', (s) => s.service === 'gateway' && s.kind === SPAN_KIND.server);
    const gatewayClient = one(spans, 'gateway CLIENT span', (s) => s.service === 'gateway' && s.kind === SPAN_KIND.client);
    const workServer = one(spans, 'work SERVER span', (s) => s.service === 'work' && s.kind === SPAN_KIND.server);
    const publish = one(spans, 'work PRODUCER span', (s) => s.service === 'work' && s.kind === SPAN_KIND.producer);

    expect(gatewayServer).toMatchObject({ parentSpanId: clientSpanId, name: 'POST /api/v1/tasks', attributes: { 'http.response.status_code': 201 } });
    expect(gatewayClient).toMatchObject({ parentSpanId: gatewayServer.spanId, attributes: { 'taskflow.upstream': 'work', 'http.response.status_code': 201 } });
    expect(workServer).toMatchObject({ parentSpanId: gatewayClient.spanId, attributes: { 'http.response.status_code': 201, 'taskflow.request_id': gatewayServer.attributes['taskflow.request_id'] } });
    expect(publish).toMatchObject({
      parentSpanId: workServer.spanId,
      name: 'work.task.created publish',
      attributes: { 'messaging.system': 'rabbitmq', 'messaging.destination.name': 'taskflow.events', 'messaging.message.id': consumed.attributes['messaging.message.id'] },
    });
    expect(consumed).toMatchObject({ parentSpanId: publish.spanId, attributes: { 'messaging.destination.name': 'audit' } });
    // PostgreSQL: work's insert of the task under its request span. (Audit writes a consumed batch's
    // entries in one statement just before its commit, for the whole batch: no one event's trace owns it.)
    const statements = (service: string, parent: string) =>
      spans.filter((s) => s.service === service && s.kind === SPAN_KIND.client && s.parentSpanId === parent && s.attributes['db.system.name'] === 'postgresql');
    expect(statements('work', workServer.spanId).some((s) => /^insert into "work"\."tasks"/.test(String(s.attributes['db.query.text'])))).toBe(true);
    // The consumer the trace reached applied the event: the entry is in the activity log.
    const entries = await eventually(async () => {
      const page = await owner.call('GET', `/api/v1/activity/?organization=${org.id}&target_id=${res.body.id}`);
      return page.status === 200 && page.body.results.length === 1 ? page.body.results : false;
    }, 30_000, 100);
    expect(entries[0]).toMatchObject({ verb: 'task.created', request_id: gatewayServer.attributes['taskflow.request_id'] });

    // Work's access log line carries the ids of its request span.
    const logged = cluster
      .logs('work', 3000)
      .map((line) => {
        try {
          return JSON.parse(line) as Record<string, unknown>;
        } catch {
          return {};
        }
      })
      .find((entry) => entry.msg === 'request' && entry.trace_id === traceId);
    expect(logged).toMatchObject({ trace_id: traceId, span_id: workServer.spanId, method: 'POST', status: 201 });
  }, 150_000);

  it('starts a new trace at the gateway when the client sends none, or a malformed one', async () => {
    const { owner, project } = await orgWithProject(cluster.url, 'Rooty');
    for (const traceparent of [undefined, 'not-a-traceparent']) {
      const requestId = randomUUID();
      const res = await owner.call('GET', `/api/v1/projects/${project.id}/`, undefined, { 'x-request-id': requestId, ...(traceparent ? { traceparent } : {}) });
      expect(res.status).toBe(200);
      const gatewayServer = await eventually(
        () => receiver.spans.find((s) => s.service === 'gateway' && s.kind === SPAN_KIND.server && s.attributes['taskflow.request_id'] === requestId),
        30_000,
        100,
      );
      expect(gatewayServer.parentSpanId).toBe('');
      const workServer = await eventually(
        () => receiver.spans.find((s) => s.service === 'work' && s.kind === SPAN_KIND.server && s.attributes['taskflow.request_id'] === requestId),
        30_000,
        100,
      );
      const gatewayClient = one(receiver.spans, 'gateway CLIENT span', (s) => s.spanId === workServer.parentSpanId);
      expect(gatewayClient).toMatchObject({ service: 'gateway', traceId: gatewayServer.traceId, parentSpanId: gatewayServer.spanId });
      expect(workServer.traceId).toBe(gatewayServer.traceId);
    }
  }, 150_000);
});
