// A small OTLP/HTTP trace receiver on 127.0.0.1 (both encodings: protobuf, the services' default, and
// JSON): keeps the decoded spans for a test, or only counts them (benchmarks).
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export const SPAN_KIND = { internal: 1, server: 2, client: 3, producer: 4, consumer: 5 } as const;

export interface ReceivedSpan {
  /** `service.name` of the resource that exported it. */
  service: string;
  traceId: string;
  spanId: string;
  /** Empty for a root span. */
  parentSpanId: string;
  name: string;
  kind: number;
  attributes: Record<string, unknown>;
}

export interface OtlpReceiver {
  /** What OTEL_EXPORTER_OTLP_ENDPOINT is set to. */
  url: string;
  spans: ReceivedSpan[];
  /** Export requests received (also when spans are not kept). */
  exports: number;
  close(): Promise<void>;
}

interface OtlpValue {
  stringValue?: string;
  intValue?: number | string;
  boolValue?: boolean;
  doubleValue?: number;
}
interface OtlpAttribute {
  key: string;
  value: OtlpValue;
}
interface OtlpExport {
  resourceSpans?: Array<{
    resource?: { attributes?: OtlpAttribute[] };
    scopeSpans?: Array<{
      spans?: Array<{ traceId: string; spanId: string; parentSpanId?: string; name: string; kind: number; attributes?: OtlpAttribute[] }>;
    }>;
  }>;
}

const valueOf = (v: OtlpValue): unknown => v.stringValue ?? (v.intValue !== undefined ? Number(v.intValue) : undefined) ?? v.boolValue ?? v.doubleValue;
const attributesOf = (list: OtlpAttribute[] = []) => Object.fromEntries(list.map((a) => [a.key, valueOf(a.value)]));

/** Decodes one OTLP/JSON trace export into flat spans. */
export function decodeOtlpTraces(body: OtlpExport): ReceivedSpan[] {
  const spans: ReceivedSpan[] = [];
  for (const rs of body.resourceSpans ?? []) {
    const service = String(attributesOf(rs.resource?.attributes)['service.name'] ?? '');
    for (const ss of rs.scopeSpans ?? []) {
      for (const s of ss.spans ?? []) {
        spans.push({ service, traceId: s.traceId, spanId: s.spanId, parentSpanId: s.parentSpanId ?? '', name: s.name, kind: s.kind, attributes: attributesOf(s.attributes) });
      }
    }
  }
  return spans;
}

// Protobuf wire format, just enough of it for ExportTraceServiceRequest (opentelemetry/proto trace/v1).
type Field = { n: number; varint?: number; bytes?: Buffer };

function* protoFields(buf: Buffer): Generator<Field> {
  let at = 0;
  const varint = () => {
    let value = 0;
    for (let shift = 1; ; shift *= 128) {
      const byte = buf[at++];
      if (byte === undefined) throw new Error('truncated protobuf');
      value += (byte & 0x7f) * shift;
      if (byte < 0x80) return value;
    }
  };
  while (at < buf.length) {
    const tag = varint();
    const wire = tag % 8;
    const n = Math.floor(tag / 8);
    if (wire === 0) yield { n, varint: varint() };
    else if (wire === 2) {
      const len = varint();
      yield { n, bytes: buf.subarray(at, at + len) };
      at += len;
    } else if (wire === 1 || wire === 5) {
      const len = wire === 1 ? 8 : 4;
      yield { n, bytes: buf.subarray(at, at + len) };
      at += len;
    } else throw new Error(`unsupported protobuf wire type ${wire}`);
  }
}

function protoAnyValue(buf: Buffer): unknown {
  for (const f of protoFields(buf)) {
    if (f.n === 1) return f.bytes!.toString('utf8');
    if (f.n === 2) return f.varint !== 0;
    if (f.n === 3) return f.varint;
    if (f.n === 4) return f.bytes!.readDoubleLE(0);
  }
  return undefined;
}

function protoAttribute(buf: Buffer): [string, unknown] {
  let key = '';
  let value: unknown;
  for (const f of protoFields(buf)) {
    if (f.n === 1) key = f.bytes!.toString('utf8');
    else if (f.n === 2) value = protoAnyValue(f.bytes!);
  }
  return [key, value];
}

/** Decodes one OTLP/protobuf trace export (ExportTraceServiceRequest) into flat spans. */
export function decodeOtlpProtobufTraces(body: Buffer): ReceivedSpan[] {
  const spans: ReceivedSpan[] = [];
  for (const rs of protoFields(body)) {
    if (rs.n !== 1) continue;
    let service = '';
    const scopes: Buffer[] = [];
    for (const f of protoFields(rs.bytes!)) {
      if (f.n === 1) {
        for (const a of protoFields(f.bytes!)) if (a.n === 1) {
          const [key, value] = protoAttribute(a.bytes!);
          if (key === 'service.name') service = String(value);
        }
      } else if (f.n === 2) scopes.push(f.bytes!);
    }
    for (const scope of scopes) {
      for (const sp of protoFields(scope)) {
        if (sp.n !== 2) continue;
        const span: ReceivedSpan = { service, traceId: '', spanId: '', parentSpanId: '', name: '', kind: 0, attributes: {} };
        for (const f of protoFields(sp.bytes!)) {
          if (f.n === 1) span.traceId = f.bytes!.toString('hex');
          else if (f.n === 2) span.spanId = f.bytes!.toString('hex');
          else if (f.n === 4) span.parentSpanId = f.bytes!.toString('hex');
          else if (f.n === 5) span.name = f.bytes!.toString('utf8');
          else if (f.n === 6) span.kind = f.varint!;
          else if (f.n === 9) {
            const [key, value] = protoAttribute(f.bytes!);
            span.attributes[key] = value;
          }
        }
        spans.push(span);
      }
    }
  }
  return spans;
}

export async function startOtlpReceiver(options: { keepSpans?: boolean } = {}): Promise<OtlpReceiver> {
  const keep = options.keepSpans ?? true;
  const receiver = { spans: [] as ReceivedSpan[], exports: 0 };
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => {
      if (keep) chunks.push(c);
    });
    req.on('end', () => {
      if (req.method !== 'POST' || !req.url?.endsWith('/v1/traces')) {
        res.writeHead(404).end();
        return;
      }
      receiver.exports += 1;
      if (keep) {
        try {
          const body = Buffer.concat(chunks);
          receiver.spans.push(
            ...(String(req.headers['content-type']).startsWith('application/x-protobuf')
              ? decodeOtlpProtobufTraces(body)
              : decodeOtlpTraces(JSON.parse(body.toString('utf8')) as OtlpExport)),
          );
        } catch {
          res.writeHead(400, { 'content-type': 'application/json' }).end('{}');
          return;
        }
      }
      // An empty ExportTraceServiceResponse, in the request's encoding (zero bytes in protobuf).
      if (String(req.headers['content-type']).startsWith('application/x-protobuf')) res.writeHead(200, { 'content-type': 'application/x-protobuf' }).end();
      else res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return Object.assign(receiver, {
    url: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  });
}
