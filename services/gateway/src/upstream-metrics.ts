// Which endpoint of each upstream served requests, and how many were retried on another one.
import { Counter, Gauge, Registry } from 'prom-client';
import { breakerStateValue } from './endpoint';
import type { UpstreamClient } from './upstream';

export class UpstreamMetrics {
  readonly registry = new Registry();
  private readonly responses = new Counter({
    name: 'gateway_upstream_endpoint_responses_total',
    help: 'Answers received from each endpoint (replica) of an upstream, whatever their status',
    labelNames: ['upstream', 'endpoint'],
    registers: [this.registry],
  });
  private readonly retries = new Counter({
    name: 'gateway_upstream_retries_total',
    help: 'Idempotent requests sent to a second endpoint after the first could not be reached',
    labelNames: ['upstream'],
    registers: [this.registry],
  });

  served(upstream: string, endpoint: string): void {
    this.responses.inc({ upstream, endpoint });
  }

  retried(upstream: string): void {
    this.retries.inc({ upstream });
  }

  /** The breaker state of every endpoint (the per-upstream one is the app's). */
  watch(upstreams: UpstreamClient[]): void {
    new Gauge({
      name: 'gateway_upstream_endpoint_circuit_state',
      help: 'Circuit breaker state per endpoint of an upstream: 0 closed, 1 half-open, 2 open (ejected)',
      labelNames: ['upstream', 'endpoint'],
      registers: [this.registry],
      collect() {
        for (const upstream of upstreams) {
          for (const endpoint of upstream.endpoints) this.set({ upstream: upstream.name, endpoint: endpoint.label }, breakerStateValue[endpoint.state]);
        }
      },
    });
  }
}
