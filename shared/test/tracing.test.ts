// Tracing costs nothing when OTEL_EXPORTER_OTLP_ENDPOINT is unset (no SDK loaded or started), and the
// envelope's optional trace_context keeps old envelopes valid.
import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import { envelopeSchema } from '../src/events';

const run = promisify(execFile);
const TRACING = path.resolve(__dirname, '../src/tracing/index.ts');

interface Probe {
  started: boolean;
  enabled: boolean;
  sdkModules: number;
  provider: string;
}

/** startTracing('work') in a fresh Node process with `env`; reports what it loaded and registered. */
async function probe(env: Record<string, string>): Promise<Probe> {
  const script = `
    const { startTracing, tracingEnabled } = require(${JSON.stringify(TRACING)});
    const handle = startTracing('work');
    const { trace } = require('@opentelemetry/api');
    const sdkModules = Object.keys(require.cache).filter((p) => /@opentelemetry[\\\\/](sdk-|exporter-|instrumentation)/.test(p)).length;
    const provider = trace.getTracerProvider().getDelegate().constructor.name;
    process.stdout.write(JSON.stringify({ started: handle !== undefined, enabled: tracingEnabled(), sdkModules, provider }));
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
    expect(probed).toEqual({ started: true, enabled: true, sdkModules: expect.any(Number), provider: 'NodeTracerProvider' });
    expect(probed.sdkModules).toBeGreaterThan(0);
  }, 30_000);
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
