// Starts OpenTelemetry (tracer provider, W3C propagation, OTLP/HTTP exporter, pg spans) when
// OTEL_EXPORTER_OTLP_ENDPOINT is set. Unset: nothing is loaded or started. Must run before pg is loaded.
import type { NodeTracerProvider } from '@opentelemetry/sdk-trace-node';
import { setTracingEnabled } from './state';

export interface TracingHandle {
  serviceName: string;
  endpoint: string;
  /** Flushes the spans still buffered and stops exporting. */
  shutdown(): Promise<void>;
}

let running: TracingHandle | undefined;

/**
 * Starts tracing for `service` (or `OTEL_SERVICE_NAME`) when `OTEL_EXPORTER_OTLP_ENDPOINT` is set, and
 * returns undefined otherwise. The exporter reads the standard OTEL_EXPORTER_OTLP_* variables itself
 * (endpoint, headers, timeout) and the batch processor the OTEL_BSP_* ones.
 */
export function startTracing(service: string, env: NodeJS.ProcessEnv = process.env): TracingHandle | undefined {
  const endpoint = env.OTEL_EXPORTER_OTLP_ENDPOINT?.trim() || env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT?.trim();
  if (!endpoint || running) return running;
  // Loaded here, not at the top: a process without the variable never loads the SDK.
  const { NodeTracerProvider: Provider, BatchSpanProcessor } = require('@opentelemetry/sdk-trace-node') as typeof import('@opentelemetry/sdk-trace-node');
  const { OTLPTraceExporter } = require('@opentelemetry/exporter-trace-otlp-http') as typeof import('@opentelemetry/exporter-trace-otlp-http');
  const { resourceFromAttributes } = require('@opentelemetry/resources') as typeof import('@opentelemetry/resources');
  const { registerInstrumentations } = require('@opentelemetry/instrumentation') as typeof import('@opentelemetry/instrumentation');
  const { PgInstrumentation } = require('@opentelemetry/instrumentation-pg') as typeof import('@opentelemetry/instrumentation-pg');

  const serviceName = env.OTEL_SERVICE_NAME?.trim() || service;
  const provider: NodeTracerProvider = new Provider({
    resource: resourceFromAttributes({ 'service.name': serviceName }),
    spanProcessors: [new BatchSpanProcessor(new OTLPTraceExporter())],
  });
  // Global provider, AsyncLocalStorage context manager, W3C traceparent/tracestate propagator.
  provider.register();
  // Statements become spans only inside a trace (a request or a consumed event), not the relay's polling.
  registerInstrumentations({ tracerProvider: provider, instrumentations: [new PgInstrumentation({ requireParentSpan: true })] });
  setTracingEnabled(true);
  running = {
    serviceName,
    endpoint,
    shutdown: async () => {
      setTracingEnabled(false);
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
