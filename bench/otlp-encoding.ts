// What recording and exporting a span costs in CPU, apart from any service: the three spans a task detail
// records in gateway and work (a SERVER span, a CLIENT span, a PostgreSQL statement) started and ended
// 20,000 times, then one batch of 510 of them serialized as OTLP JSON and as OTLP protobuf (200 times each).
//   npx tsx bench/otlp-encoding.ts
// CPU time (process.cpuUsage), so other load on the machine inflates the figures less than wall time.
import { ROOT_CONTEXT, SpanKind, trace } from '@opentelemetry/api';
import { JsonTraceSerializer, ProtobufTraceSerializer } from '@opentelemetry/otlp-transformer';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { NodeTracerProvider, type ReadableSpan, type SpanProcessor } from '@opentelemetry/sdk-trace-node';

const kept: ReadableSpan[] = [];
let keep = false;
const collect: SpanProcessor = { onStart: () => undefined, onEnd: (span) => void (keep && kept.push(span)), forceFlush: async () => undefined, shutdown: async () => undefined };
const provider = new NodeTracerProvider({ resource: resourceFromAttributes({ 'service.name': 'work' }), spanProcessors: [collect] });
const tracer = provider.getTracer('taskflow');
const sql = 'select t.id, t.organization_id, t.project_id, t.title, t.description, t.status, t.priority, t.assignee_id, t.due_date, t.created_at, t.updated_at from work.tasks t where t.id = $1';

function oneRequest(): void {
  // The attributes shared/src/tracing/spans.ts sets (method and route are in the names).
  const server = tracer.startSpan('GET', { kind: SpanKind.SERVER, attributes: { 'taskflow.request_id': 'd9ca40f0-9373-46f9-807e-6a60ee8b0271' } }, ROOT_CONTEXT);
  const ctx = trace.setSpan(ROOT_CONTEXT, server);
  const client = tracer.startSpan('GET', { kind: SpanKind.CLIENT, attributes: { 'taskflow.upstream': 'work' } }, ctx);
  const attributes = { 'db.system.name': 'postgresql', 'db.operation.name': 'SELECT', 'db.query.text': sql };
  const query = tracer.startSpan('SELECT', { kind: SpanKind.CLIENT, attributes }, ctx);
  query.end();
  client.setAttribute('http.response.status_code', 200);
  client.end();
  server.updateName(ROUTE_NAME);
  server.setAttribute('http.response.status_code', 200);
  server.end();
}
const ROUTE_NAME = 'GET /api/v1/tasks/:id';

/** CPU microseconds per call of `fn`. */
function cpu(fn: () => unknown, n: number): number {
  for (let i = 0; i < Math.min(n, 200); i += 1) fn();
  const start = process.cpuUsage();
  for (let i = 0; i < n; i += 1) fn();
  const { user, system } = process.cpuUsage(start);
  return (user + system) / n;
}

const perSpan = cpu(oneRequest, 20_000) / 3;
keep = true;
for (let i = 0; i < 170; i += 1) oneRequest();
const batch = kept.slice(0, 510);
const json = cpu(() => JsonTraceSerializer.serializeRequest(batch), 200) / batch.length;
const proto = cpu(() => ProtobufTraceSerializer.serializeRequest(batch), 200) / batch.length;
const jsonBytes = JsonTraceSerializer.serializeRequest(batch)!.length / batch.length;
const protoBytes = ProtobufTraceSerializer.serializeRequest(batch)!.length / batch.length;
process.stdout.write(
  [
    '| per span | CPU µs | bytes |',
    '|---|---|---|',
    `| start + attributes + end | ${perSpan.toFixed(1)} | |`,
    `| OTLP JSON serialization | ${json.toFixed(1)} | ${jsonBytes.toFixed(0)} |`,
    `| OTLP protobuf serialization | ${proto.toFixed(1)} | ${protoBytes.toFixed(0)} |`,
    '',
  ].join('\n'),
);
