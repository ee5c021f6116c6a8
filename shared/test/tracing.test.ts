// Tracing costs nothing when OTEL_EXPORTER_OTLP_ENDPOINT is unset (no SDK loaded or started), and the
// envelope's optional trace_context keeps old envelopes valid; OpenTelemetry's active context lives in the
// request context (one AsyncLocalStorage for logs and traces); PostgreSQL statements become spans inside
// a trace only.
import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import { EventEmitter } from 'node:events';
import { context, createContextKey, ROOT_CONTEXT, SpanKind, trace } from '@opentelemetry/api';
import { JsonTraceSerializer, ProtobufTraceSerializer } from '@opentelemetry/otlp-transformer';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-node';
import { Client } from 'pg';
import { createDb, preparedRead } from '../src/db';
import { envelopeSchema } from '../src/events';
import { requestContext } from '../src/logging';
import { decodeOtlpProtobufTraces, decodeOtlpTraces } from '../src/testing/otlp';
import { RequestContextManager } from '../src/tracing/context';
import { traceStatements } from '../src/tracing/pg';
import { otlpProtocol } from '../src/tracing/sdk';
import { resetTracer } from '../src/tracing/spans';
import { setTracingEnabled } from '../src/tracing/state';
import { testInfra } from '../src/testing/infra';

const run = promisify(execFile);
const TRACING = path.resolve(__dirname, '../src/tracing/index.ts');

interface Probe {
  started: boolean;
  enabled: boolean;
  sdkModules: number;
  provider: string;
  protocol?: string;
}

/** startTracing('work') in a fresh Node process with `env`; reports what it loaded and registered. */
async function probe(env: Record<string, string>): Promise<Probe> {
  const script = `
    const { startTracing, tracingEnabled } = require(${JSON.stringify(TRACING)});
    const handle = startTracing('work');
    const { trace } = require('@opentelemetry/api');
    const sdkModules = Object.keys(require.cache).filter((p) => /@opentelemetry[\\\\/](sdk-|exporter-|instrumentation)/.test(p)).length;
    const provider = trace.getTracerProvider().getDelegate().constructor.name;
    process.stdout.write(JSON.stringify({ started: handle !== undefined, enabled: tracingEnabled(), sdkModules, provider, protocol: handle?.protocol }));
    process.exit(0);
  `;
  const { stdout } = await run(process.execPath, ['--require', 'tsx/cjs', '-e', script], {
    cwd: path.resolve(__dirname, '..'),
    env: { PATH: process.env.PATH, ...env },
  });
  return JSON.parse(stdout) as Probe;
}

describe('tracing start-up', () => {
  it('starts no SDK and loads none of it when OTEL_EXPORTER_OTLP_ENDPOINT is unset', async () => {
    expect(await probe({})).toEqual({ started: false, enabled: false, sdkModules: 0, provider: 'NoopTracerProvider' });
  }, 30_000);

  it('starts the SDK with an OTLP exporter when OTEL_EXPORTER_OTLP_ENDPOINT is set', async () => {
    const probed = await probe({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:9' });
    expect(probed).toEqual({ started: true, enabled: true, sdkModules: expect.any(Number), provider: 'NodeTracerProvider', protocol: 'http/protobuf' });
    expect(probed.sdkModules).toBeGreaterThan(0);
  }, 30_000);
});

describe('OTLP encoding', () => {
  it('is protobuf unless OTEL_EXPORTER_OTLP_(TRACES_)PROTOCOL says http/json, and refuses what it cannot speak', () => {
    expect(otlpProtocol({})).toBe('http/protobuf');
    expect(otlpProtocol({ OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json' })).toBe('http/json');
    expect(otlpProtocol({ OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json', OTEL_EXPORTER_OTLP_TRACES_PROTOCOL: 'http/protobuf' })).toBe('http/protobuf');
    expect(() => otlpProtocol({ OTEL_EXPORTER_OTLP_PROTOCOL: 'grpc' })).toThrow(/grpc is not supported/);
  });

  it('the test receiver decodes a protobuf export to the same spans as its JSON twin', () => {
    const exporter = new InMemorySpanExporter();
    const provider = new BasicTracerProvider({ resource: resourceFromAttributes({ 'service.name': 'work' }), spanProcessors: [new SimpleSpanProcessor(exporter)] });
    const tracer = provider.getTracer('taskflow');
    const parent = tracer.startSpan('GET /api/v1/tasks/:id', { kind: SpanKind.SERVER, attributes: { 'http.route': '/api/v1/tasks/:id', 'http.response.status_code': 200 } });
    const child = tracer.startSpan('pg.query', { kind: SpanKind.CLIENT, attributes: { 'db.query.text': 'select 1 -- é', 'db.ok': true, 'db.ratio': 0.5 } }, trace.setSpan(ROOT_CONTEXT, parent));
    child.end();
    parent.end();
    const spans = exporter.getFinishedSpans();
    const fromProto = decodeOtlpProtobufTraces(Buffer.from(ProtobufTraceSerializer.serializeRequest(spans)!));
    const fromJson = decodeOtlpTraces(JSON.parse(Buffer.from(JsonTraceSerializer.serializeRequest(spans)!).toString('utf8')));
    expect(fromProto).toEqual(fromJson);
    expect(fromProto).toEqual([
      expect.objectContaining({ service: 'work', kind: 3, name: 'pg.query', parentSpanId: parent.spanContext().spanId, attributes: { 'db.query.text': 'select 1 -- é', 'db.ok': true, 'db.ratio': 0.5 } }),
      expect.objectContaining({ service: 'work', kind: 2, traceId: parent.spanContext().traceId, parentSpanId: '', attributes: { 'http.route': '/api/v1/tasks/:id', 'http.response.status_code': 200 } }),
    ]);
  });
});

describe('trace_context in the event envelope', () => {
  const envelope = {
    id: '6f1c2b4e-8a8b-4d3c-9e8f-0a1b2c3d4e5f',
    type: 'work.task.created',
    version: 1,
    occurred_at: '2026-11-30T10:00:00.000Z',
    organization_id: null,
    actor_id: null,
    actor_email: null,
    request_id: 'r-1',
    data: { task: { id: 'x' } },
  };
  const traceparent = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01';

  it('keeps a trace context, accepts an envelope without one, and drops a malformed one instead of refusing the event', () => {
    expect(envelopeSchema.parse({ ...envelope, trace_context: { traceparent, tracestate: 'vendor=1' } }).trace_context).toEqual({ traceparent, tracestate: 'vendor=1' });
    expect(envelopeSchema.parse(envelope)).toEqual(envelope);
    const malformed = envelopeSchema.parse({ ...envelope, trace_context: { traceparent: 42 } });
    expect(malformed).toEqual(envelope);
    expect(malformed.trace_context).toBeUndefined();
  });
});

describe('the context manager', () => {
  const manager = new RequestContextManager();
  const key = createContextKey('test');
  const traced = ROOT_CONTEXT.setValue(key, 'span');

  it('keeps the active context in the request context, beside the request id, across awaits', async () => {
    await requestContext.run({ requestId: 'r-1', userId: 'u-1' }, async () => {
      expect(manager.active()).toBe(ROOT_CONTEXT);
      const seen = await manager.with(traced, async () => {
        await new Promise((resolve) => setImmediate(resolve));
        return { active: manager.active(), requestId: requestContext.getStore()?.requestId, userId: requestContext.getStore()?.userId };
      });
      expect(seen).toEqual({ active: traced, requestId: 'r-1', userId: 'u-1' });
      expect(manager.active()).toBe(ROOT_CONTEXT);
      expect(requestContext.getStore()).toEqual({ requestId: 'r-1', userId: 'u-1' });
    });
  });

  it('is the context a request context carries, and the root one outside any', () => {
    expect(manager.active()).toBe(ROOT_CONTEXT);
    expect(requestContext.run({ requestId: 'r-2', traceContext: traced }, () => manager.active())).toBe(traced);
  });

  it('binds functions and event emitters to a context, wherever they are called', () => {
    const bound = manager.bind(traced, () => manager.active());
    expect(bound()).toBe(traced);
    const emitter = manager.bind(traced, new EventEmitter());
    let heard: unknown;
    emitter.on('ping', () => {
      heard = manager.active();
    });
    requestContext.run({ requestId: 'r-3' }, () => emitter.emit('ping'));
    expect(heard).toBe(traced);
  });

  it('attaches a context until its token is disposed', async () => {
    await requestContext.run({ requestId: 'r-4' }, async () => {
      const token = manager.attach(traced);
      expect(manager.active()).toBe(traced);
      expect(requestContext.getStore()?.requestId).toBe('r-4');
      token.dispose();
      expect(manager.active()).toBe(ROOT_CONTEXT);
    });
  });
});

describe('PostgreSQL statement spans', () => {
  const exporter = new InMemorySpanExporter();
  const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
  let db: ReturnType<typeof createDb>;

  beforeAll(async () => {
    db = createDb({ url: testInfra().databaseUrl, schema: 'public', poolMax: 1 });
    // Opened before the tests: knex's set-up statements on a new connection (select version(), set
    // search_path) are spans too when it opens inside a trace, which is rare and not under test here.
    await db.raw('select 1');
    trace.setGlobalTracerProvider(provider);
    context.setGlobalContextManager(new RequestContextManager());
    traceStatements(Client);
    traceStatements(Client); // a second start wraps nothing twice
    setTracingEnabled(true);
  });
  afterAll(async () => {
    setTracingEnabled(false);
    resetTracer();
    trace.disable();
    context.disable();
    await db.destroy();
    await provider.shutdown();
  });
  beforeEach(() => exporter.reset());

  /** Runs `fn` under a SERVER span, as a request does; returns that span's id. */
  async function inRequest(fn: () => Promise<unknown>): Promise<string> {
    const server = provider.getTracer('test').startSpan('GET', { kind: SpanKind.SERVER });
    await requestContext.run({ requestId: 'r-db', traceContext: trace.setSpan(ROOT_CONTEXT, server) }, fn);
    server.end();
    return server.spanContext().spanId;
  }

  const statements = () => exporter.getFinishedSpans().filter((s) => s.kind === SpanKind.CLIENT);

  it("makes one CLIENT span per statement, knex's and preparedRead's, child of the request's span, without the values", async () => {
    const parent = await inRequest(async () => {
      await db.raw('select ?::int as n', [41]);
      await preparedRead(db, 'select $1::text as secret', ['hunter2']);
    });
    expect(statements().map((s) => ({ name: s.name, parent: s.parentSpanContext?.spanId, attributes: s.attributes }))).toEqual([
      { name: 'SELECT', parent, attributes: { 'db.system.name': 'postgresql', 'db.operation.name': 'SELECT', 'db.query.text': 'select $1::int as n' } },
      { name: 'SELECT', parent, attributes: { 'db.system.name': 'postgresql', 'db.operation.name': 'SELECT', 'db.query.text': 'select $1::text as secret' } },
    ]);
  });

  it('marks a failed statement with its SQLSTATE and still hands the error to the caller', async () => {
    let caught: unknown;
    await inRequest(async () => {
      caught = await preparedRead(db, 'select 1/$1::int', [0]).catch((err: unknown) => err);
    });
    expect(caught).toMatchObject({ code: '22012' });
    expect(statements()).toEqual([expect.objectContaining({ status: expect.objectContaining({ code: 2 }), attributes: expect.objectContaining({ 'db.response.status_code': '22012' }) })]);
  });

  it('makes no span outside a trace', async () => {
    await db.raw('select 1');
    await preparedRead(db, 'select 2', []);
    expect(exporter.getFinishedSpans()).toEqual([]);
  });
});
