// Starts OpenTelemetry (tracer provider, W3C propagation, OTLP/HTTP exporter, PostgreSQL statement spans)
// when OTEL_EXPORTER_OTLP_ENDPOINT is set. Unset: nothing is loaded or started.
// The exporter speaks OTLP's default encoding, protobuf (`OTEL_EXPORTER_OTLP_PROTOCOL=http/json` for JSON):
// measured in bench/README.md, it serializes a span in about 2/3 of the time and in half the bytes.
import type { NodeTracerProvider } from '@opentelemetry/sdk-trace-node';
import { resetTracer } from './spans';
import { setTracingEnabled } from './state';

/** The OTLP encodings TaskFlow exports with (OTEL_EXPORTER_OTLP_PROTOCOL); gRPC is not offered. */
export type OtlpProtocol = 'http/protobuf' | 'http/json';

export interface TracingHandle {
  serviceName: string;
  endpoint: string;
  protocol: OtlpProtocol;
  /** Flushes the spans still buffered and stops exporting. */
  shutdown(): Promise<void>;
}

let running: TracingHandle | undefined;

/** `OTEL_EXPORTER_OTLP_TRACES_PROTOCOL`, else `OTEL_EXPORTER_OTLP_PROTOCOL`, else OTLP's default `http/protobuf`. */
export function otlpProtocol(env: NodeJS.ProcessEnv = process.env): OtlpProtocol {
  const value = (env.OTEL_EXPORTER_OTLP_TRACES_PROTOCOL?.trim() || env.OTEL_EXPORTER_OTLP_PROTOCOL?.trim() || 'http/protobuf').toLowerCase();
  if (value === 'http/protobuf' || value === 'http/json') return value;
  throw new Error(`OTEL_EXPORTER_OTLP_PROTOCOL=${value} is not supported: use http/protobuf (the default) or http/json`);
}

/**
 * Starts tracing for `service` (or `OTEL_SERVICE_NAME`) when `OTEL_EXPORTER_OTLP_ENDPOINT` is set, and
 * returns undefined otherwise. The exporter reads the standard OTEL_EXPORTER_OTLP_* variables itself
 * (endpoint, headers, timeout) and the batch processor the OTEL_BSP_* ones.
 */
export function startTracing(service: string, env: NodeJS.ProcessEnv = process.env): TracingHandle | undefined {
  const endpoint = env.OTEL_EXPORTER_OTLP_ENDPOINT?.trim() || env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT?.trim();
  if (!endpoint || running) return running;
  const protocol = otlpProtocol(env);
  // Loaded here, not at the top: a process without the variable never loads the SDK.
  const { NodeTracerProvider: Provider, BatchSpanProcessor } = require('@opentelemetry/sdk-trace-node') as typeof import('@opentelemetry/sdk-trace-node');
  const { OTLPTraceExporter } = (
    protocol === 'http/json' ? require('@opentelemetry/exporter-trace-otlp-http') : require('@opentelemetry/exporter-trace-otlp-proto')
  ) as typeof import('@opentelemetry/exporter-trace-otlp-proto');
  const { resourceFromAttributes } = require('@opentelemetry/resources') as typeof import('@opentelemetry/resources');
  const { traceStatements } = require('./pg') as typeof import('./pg');
  const { RequestContextManager } = require('./context') as typeof import('./context');

  const serviceName = env.OTEL_SERVICE_NAME?.trim() || service;
  // The batch processor's defaults stay (OTEL_BSP_*: a batch of 512 leaves as soon as it is full, else
  // after 5 s; at most 2048 spans wait): the export's cost is per span (serialization), not per batch,
  // and a longer queue would only hold more memory while the collector is slow.
  const provider: NodeTracerProvider = new Provider({
    resource: resourceFromAttributes({ 'service.name': serviceName }),
    spanProcessors: [new BatchSpanProcessor(new OTLPTraceExporter())],
  });
  // Global provider, W3C traceparent/tracestate propagator, and the active context kept in the logger's
  // request context (one AsyncLocalStorage, not two: bench/README.md, "Tracing overhead").
  provider.register({ contextManager: new RequestContextManager() });
  // Statements become spans only inside a trace (a request or a consumed event), not the relay's polling;
  // opening a pooled connection is not a span (it is rare and says nothing about the request). A
  // prototype wrapper, so pg may already be loaded.
  traceStatements((require('pg') as typeof import('pg')).Client);
  setTracingEnabled(true);
  running = {
    serviceName,
    endpoint,
    protocol,
    shutdown: async () => {
      setTracingEnabled(false);
      resetTracer();
      running = undefined;
      await provider.shutdown();
    },
  };
  return running;
}

/** What startTracing started, if anything. */
export function activeTracing(): TracingHandle | undefined {
  return running;
}

/**
 * Flushes and stops tracing if it was started (on SIGTERM, after the service has closed); gives up after
 * `timeoutMs` so an unreachable collector cannot hold the shutdown past its deadline.
 */
export async function stopTracing(timeoutMs = 2000): Promise<void> {
  if (!running) return;
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<void>((resolve) => {
    timer = setTimeout(resolve, timeoutMs);
    timer.unref();
  });
  await Promise.race([running.shutdown().catch(() => undefined), deadline]);
  clearTimeout(timer);
}
