// The few spans TaskFlow makes by hand (incoming request, the gateway's upstream call, PostgreSQL
// statement, outbox publish, event consumption) and the W3C trace context they carry. Each helper is a no-op unless tracing is on.
import type { IncomingHttpHeaders } from 'node:http';
import { type Attributes, context, type Context as TraceContext, propagation, ROOT_CONTEXT, type Span, SpanKind, SpanStatusCode, trace, type Tracer } from '@opentelemetry/api';
import { tracingEnabled } from './state';

/** A W3C trace context as it travels in an event envelope (`trace_context`). */
export interface TraceCarrier {
  traceparent: string;
  tracestate?: string;
}

/** The ids a log line carries while a span is active. */
export interface TraceIds {
  traceId: string;
  spanId: string;
}

/**
 * What a span puts into the request context (shared/src/logging.ts): its ids for the log lines, and the
 * OpenTelemetry context that makes it the active span (the context manager reads it from there).
 */
export interface TraceFields extends TraceIds {
  traceContext: TraceContext;
}

// Looked up once per provider rather than per span (the global provider is a proxy; startTracing resets it).
let cachedTracer: Tracer | undefined;
const tracer = (): Tracer => (cachedTracer ??= trace.getTracer('taskflow'));

/** Forgets the tracer, for startTracing after a shutdown (a new provider). */
export function resetTracer(): void {
  cachedTracer = undefined;
}

// Span names joined from two bounded parts (method and route template, event type and role): built once
// each, so no span carries a fresh string for the exporter to measure and copy.
const joinedNames = new Map<string, Map<string, string>>();

function spanName(first: string, second: string): string {
  let bySecond = joinedNames.get(first);
  if (bySecond === undefined) joinedNames.set(first, (bySecond = new Map()));
  let name = bySecond.get(second);
  if (name === undefined) {
    name = `${first} ${second}`;
    if (bySecond.size < 1000) bySecond.set(second, name);
  }
  return name;
}

function fieldsOf(span: Span, parent: TraceContext): TraceFields {
  const { traceId, spanId } = span.spanContext();
  return { traceId, spanId, traceContext: trace.setSpan(parent, span) };
}

function carrierOf(ctx: TraceContext): TraceCarrier | undefined {
  const carrier: Record<string, string> = {};
  propagation.inject(ctx, carrier);
  if (!carrier.traceparent) return undefined;
  return carrier.tracestate ? { traceparent: carrier.traceparent, tracestate: carrier.tracestate } : { traceparent: carrier.traceparent };
}

function parentFrom(carrier: TraceCarrier | Record<string, unknown> | undefined | null): TraceContext {
  return carrier ? propagation.extract(ROOT_CONTEXT, carrier) : ROOT_CONTEXT;
}

function failed(span: Span, err: unknown): void {
  span.recordException(err instanceof Error ? err : String(err));
  span.setStatus({ code: SpanStatusCode.ERROR, message: err instanceof Error ? err.message : String(err) });
}

/**
 * A request's SERVER span: run the rest of the middleware with `fields` in the request context (that
 * makes it the active span: one store for the logger and OpenTelemetry), then `end` with the route and status.
 */
export interface RequestSpan {
  fields: TraceFields;
  end(route: string, status: number): void;
}

/**
 * Starts the SERVER span of an incoming request, continuing the caller's `traceparent` if it sent a valid
 * one. Its attributes are what something reads (the request id, the status); the method and the route
 * template are in its name. Every attribute is serialized into each export: none for show.
 */
export function startRequestSpan(headers: IncomingHttpHeaders, method: string, requestId: string): RequestSpan | undefined {
  if (!tracingEnabled()) return undefined;
  const parent = parentFrom(headers);
  const span = tracer().startSpan(method, { kind: SpanKind.SERVER, attributes: { 'taskflow.request_id': requestId } }, parent);
  return {
    fields: fieldsOf(span, parent),
    end(route, status) {
      // The route template, never the raw path: some paths carry secret tokens.
      span.updateName(spanName(method, route));
      span.setAttribute('http.response.status_code', status);
      if (status >= 500) span.setStatus({ code: SpanStatusCode.ERROR });
      span.end();
    },
  };
}

/**
 * Runs an outgoing HTTP call (the gateway's upstream call) in a CLIENT span whose `traceparent` is
 * added to `headers`; `call` resolves to something with the response status.
 */
export async function inClientSpan<T extends { status: number }>(
  upstream: string,
  method: string,
  headers: Record<string, string>,
  call: () => Promise<T>,
): Promise<T> {
  if (!tracingEnabled()) return call();
  const span = tracer().startSpan(method, { kind: SpanKind.CLIENT, attributes: { 'taskflow.upstream': upstream } });
  const active = trace.setSpan(context.active(), span);
  propagation.inject(active, headers);
  try {
    const response = await context.with(active, call);
    span.setAttribute('http.response.status_code', response.status);
    if (response.status >= 500) span.setStatus({ code: SpanStatusCode.ERROR });
    return response;
  } catch (err) {
    failed(span, err);
    throw err;
  } finally {
    span.end();
  }
}

const OPERATION = /^\s*([A-Za-z]+)/;
// The statement's first word as written -> its upper-case name: a few SQL keywords, each built once.
const operationNames = new Map<string, string>();

function operationOf(text: string): string | undefined {
  const word = OPERATION.exec(text)?.[1];
  if (word === undefined) return undefined;
  let name = operationNames.get(word);
  if (name === undefined) {
    name = word.toUpperCase();
    if (operationNames.size < 64) operationNames.set(word, name);
  }
  return name;
}

/**
 * Starts the CLIENT span of one PostgreSQL statement, child of the active span; undefined with tracing
 * off or outside a recorded trace (the relay's polling, LISTEN): no statement starts a trace. `text` is
 * the statement with its $n placeholders, never its values.
 */
export function startStatementSpan(text: string | undefined): Span | undefined {
  if (!tracingEnabled()) return undefined;
  const parent = context.active();
  if (!trace.getSpan(parent)?.isRecording()) return undefined;
  const operation = text === undefined ? undefined : operationOf(text);
  const attributes: Attributes = { 'db.system.name': 'postgresql' };
  if (operation !== undefined) attributes['db.operation.name'] = operation;
  if (text !== undefined) attributes['db.query.text'] = text;
  return tracer().startSpan(operation ?? 'postgresql', { kind: SpanKind.CLIENT, attributes }, parent);
}

/** Ends a statement span; a failed statement carries PostgreSQL's SQLSTATE (no stack: errors like 23505 are routine). */
export function endStatementSpan(span: Span, err?: unknown): void {
  if (err != null) {
    const code = (err as { code?: unknown }).code;
    if (typeof code === 'string') span.setAttribute('db.response.status_code', code);
    span.setStatus({ code: SpanStatusCode.ERROR, message: err instanceof Error ? err.message : String(err) });
  }
  span.end();
}

/** The active trace context, to be stored with an event (undefined when not tracing or outside a trace). */
export function activeTraceCarrier(): TraceCarrier | undefined {
  if (!tracingEnabled()) return undefined;
  return carrierOf(context.active());
}

interface PublishedRow {
  id: string;
  type: string;
  envelope: unknown;
}

/** PRODUCER spans for one batch of outbox rows, ended once the broker has confirmed (or refused) them. */
export interface PublishSpans {
  /** The envelope to publish: its `trace_context` names the publish span, so the consumer becomes its child. */
  envelopeFor(row: PublishedRow): unknown;
  /** Ends every span; those `failed` names (or all, on `error`) are marked as errors. */
  end(failed?: (id: string) => boolean, error?: unknown): void;
}

const UNTRACED_PUBLISH: PublishSpans = { envelopeFor: (row) => row.envelope, end: () => undefined };

export function startPublishSpans(exchange: string): PublishSpans {
  if (!tracingEnabled()) return UNTRACED_PUBLISH;
  const spans = new Map<string, Span>();
  return {
    envelopeFor(row) {
      const envelope = row.envelope as { trace_context?: TraceCarrier };
      // An event recorded outside any trace (or before tracing was on) starts no trace of its own.
      if (!envelope?.trace_context) return row.envelope;
      const parent = parentFrom(envelope.trace_context);
      const span = tracer().startSpan(
        spanName(row.type, 'publish'),
        // The routing key is the event type, in the name; the operation is the kind.
        { kind: SpanKind.PRODUCER, attributes: { 'messaging.system': 'rabbitmq', 'messaging.destination.name': exchange, 'messaging.message.id': row.id } },
        parent,
      );
      spans.set(row.id, span);
      return { ...envelope, trace_context: carrierOf(trace.setSpan(parent, span)) };
    },
    end(isFailed, error) {
      for (const [id, span] of spans) {
        if (error !== undefined) failed(span, error);
        else if (isFailed?.(id)) span.setStatus({ code: SpanStatusCode.ERROR, message: 'unroutable' });
        span.end();
      }
      spans.clear();
    },
  };
}

/**
 * Runs the handling of one consumed event in a CONSUMER span, child of the publish span named by the
 * envelope's `trace_context` (a new trace when it has none). `fn` must put the `fields` it gets into the
 * request context it runs in: they make the span the active one and give the log lines its ids.
 */
export async function inConsumeSpan<T>(
  event: { id: string; type: string; trace_context?: TraceCarrier },
  queue: string,
  fn: (fields: TraceFields | undefined) => Promise<T>,
): Promise<T> {
  if (!tracingEnabled()) return fn(undefined);
  const parent = parentFrom(event.trace_context);
  const span = tracer().startSpan(
    spanName(event.type, 'process'),
    { kind: SpanKind.CONSUMER, attributes: { 'messaging.system': 'rabbitmq', 'messaging.destination.name': queue, 'messaging.message.id': event.id } },
    parent,
  );
  try {
    return await fn(fieldsOf(span, parent));
  } catch (err) {
    failed(span, err);
    throw err;
  } finally {
    span.end();
  }
}
