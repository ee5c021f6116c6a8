// Prometheus metrics: request count and latency by route template and status, plus process metrics.
import client from 'prom-client';

let processRegistry: client.Registry | undefined;

function processMetrics(): client.Registry {
  if (!processRegistry) {
    processRegistry = new client.Registry();
    client.collectDefaultMetrics({ register: processRegistry });
  }
  return processRegistry;
}

export class HttpMetrics {
  readonly registry = new client.Registry();
  private readonly included: client.Registry[] = [];
  readonly requests: client.Counter<'method' | 'route' | 'status'>;
  readonly duration: client.Histogram<'method' | 'route' | 'status'>;

  constructor(private readonly service: string) {
    this.registry.setDefaultLabels({ service });
    this.requests = new client.Counter({
      name: 'http_requests_total',
      help: 'HTTP requests handled, by route template and status',
      labelNames: ['method', 'route', 'status'],
      registers: [this.registry],
    });
    this.duration = new client.Histogram({
      name: 'http_request_duration_seconds',
      help: 'HTTP request latency, by route template and status',
      labelNames: ['method', 'route', 'status'],
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers: [this.registry],
    });
  }

  observe(method: string, route: string, status: number, seconds: number): void {
    const labels = { method, route, status: String(status) };
    this.requests.inc(labels);
    this.duration.observe(labels, seconds);
  }

  /** Serves `registry`'s metrics too (the messaging mechanisms' own), labelled with the service. */
  include(registry: client.Registry): void {
    this.included.push(registry);
  }

  async render(): Promise<{ contentType: string; body: string }> {
    const merged = client.Registry.merge([this.registry, ...this.included, processMetrics()]);
    // Merging drops each registry's default labels: every series carries the service again.
    merged.setDefaultLabels({ service: this.service });
    return { contentType: merged.contentType, body: await merged.metrics() };
  }
}

/**
 * The fair-use admission layer's metrics (shared/src/http/fair-use.ts), per service: never per tenant,
 * so the number of series stays fixed however many tenants there are.
 */
export class FairUseMetrics {
  readonly registry = new client.Registry();
  readonly queued: client.Counter;
  readonly rejected: client.Counter<'reason'>;
  readonly waitSeconds: client.Histogram;

  constructor(state: { running: () => number; waiting: () => number }) {
    this.queued = new client.Counter({
      name: 'fair_use_queued_total',
      help: 'Requests that waited for a slot (their tenant or the process was at its concurrency cap)',
      registers: [this.registry],
    });
    this.rejected = new client.Counter({
      name: 'fair_use_rejected_total',
      help: 'Requests refused by the fair-use layer: queue_full (429 at once), timeout (the wait for a slot ran out: 429, or 503 when other tenants filled the process) or client_gone',
      labelNames: ['reason'],
      registers: [this.registry],
    });
    this.waitSeconds = new client.Histogram({
      name: 'fair_use_wait_seconds',
      help: 'Time queued requests waited for a slot',
      buckets: [0.001, 0.005, 0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers: [this.registry],
    });
    new client.Gauge({
      name: 'fair_use_running',
      help: 'Requests holding a fair-use slot now',
      registers: [this.registry],
      collect() {
        this.set(state.running());
      },
    });
    new client.Gauge({
      name: 'fair_use_waiting',
      help: 'Requests waiting for a fair-use slot now',
      registers: [this.registry],
      collect() {
        this.set(state.waiting());
      },
    });
  }
}
