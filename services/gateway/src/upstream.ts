// One client per upstream service: its endpoints (replicas), which one serves a request, and the one retry elsewhere.
import { AppError, type Logger, unavailable } from '@taskflow/shared';
import {
  type BreakerState,
  type ExchangeError,
  UpstreamEndpoint,
  UpstreamFailureStatus,
  type UpstreamRequest,
  type UpstreamResponse,
  UpstreamTimeout,
} from './endpoint';
import type { UpstreamMetrics } from './upstream-metrics';

export type { BreakerState, UpstreamRequest, UpstreamResponse, UpstreamStream } from './endpoint';

export interface UpstreamOptions {
  name: string;
  /** One base URL per endpoint (a single one may be a load-balanced Service URL). */
  baseUrls: string[];
  timeoutMs: number;
  breakerResetMs: number;
  logger: Logger;
  metrics?: UpstreamMetrics;
  maxSockets?: number;
}

/** The request never reached the endpoint: nothing happened there, so it is safe to send elsewhere. */
const NOT_REACHED = new Set(['ECONNREFUSED', 'EOPENBREAKER', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH']);
/** The endpoint cannot be connected to at all: taken out of rotation at once when others remain. */
const UNREACHABLE = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH']);
/** The connection broke mid-exchange: only a request safe to repeat whatever happened may go elsewhere. */
const CONNECTION_LOST = new Set(['ECONNRESET', 'EPIPE']);
const SAFE_METHODS = new Set(['GET', 'HEAD']);

const codeOf = (err: unknown) => (err as ExchangeError).code;

/** GET, HEAD, or a write the service deduplicates by its Idempotency-Key. */
function idempotent(request: UpstreamRequest): boolean {
  return SAFE_METHODS.has(request.method) || request.headers['idempotency-key'] !== undefined;
}

export class UpstreamClient {
  readonly name: string;
  readonly endpoints: UpstreamEndpoint[];
  private cursor = 0;

  constructor(private readonly options: UpstreamOptions) {
    if (options.baseUrls.length === 0) throw new Error(`${options.name}: no endpoint`);
    this.name = options.name;
    this.endpoints = options.baseUrls.map(
      (baseUrl) => new UpstreamEndpoint({ upstream: options.name, baseUrl, timeoutMs: options.timeoutMs, breakerResetMs: options.breakerResetMs, logger: options.logger, maxSockets: options.maxSockets }),
    );
  }

  /** The upstream as a whole: closed while any endpoint is, open only when every one is. */
  get state(): BreakerState {
    const states = new Set(this.endpoints.map((e) => e.state));
    if (states.has('closed')) return 'closed';
    return states.has('half_open') ? 'half_open' : 'open';
  }

  /**
   * Sends `request` to the least busy healthy endpoint. Any answer is returned as it came (including
   * a 502/503/504, which its breaker counts). A request that never reached its endpoint (refused
   * connection, open breaker), or a GET/HEAD whose connection broke, goes once to another endpoint
   * when it is idempotent. Otherwise no answer becomes a problem: 503 + Retry-After when the service
   * cannot be reached, 504 when it did not answer in time.
   */
  async forward(request: UpstreamRequest): Promise<UpstreamResponse> {
    const first = this.pick(request) ?? this.endpoints[0]!;
    try {
      return await this.sendTo(first, request);
    } catch (err) {
      const second = this.mayRetry(request, err) ? this.pick(request, first) : undefined;
      if (!second) throw this.problem(err);
      this.options.metrics?.retried(this.name);
      try {
        return await this.sendTo(second, request);
      } catch (retryErr) {
        throw this.problem(retryErr);
      }
    }
  }

  /** Readiness: at least one endpoint's own /readyz answers 200. Bypasses the breakers on purpose. */
  async checkReady(timeoutMs = 1500): Promise<void> {
    await Promise.any(this.endpoints.map((e) => e.checkReady(timeoutMs))).catch(() => {
      throw new Error(`no ${this.name} endpoint is ready`);
    });
  }

  /** GETs a JSON document (e.g. its /openapi.json) from the first endpoint that serves it, outside the breakers. */
  async getJson(path: string, timeoutMs = 2000): Promise<unknown> {
    let lastError: unknown;
    for (const endpoint of this.endpoints) {
      try {
        return await endpoint.getJson(path, timeoutMs);
      } catch (err) {
        lastError = err;
      }
    }
    throw lastError;
  }

  close(): void {
    for (const endpoint of this.endpoints) endpoint.close();
  }

  private async sendTo(endpoint: UpstreamEndpoint, request: UpstreamRequest): Promise<UpstreamResponse> {
    try {
      const response = await endpoint.send(request);
      this.options.metrics?.served(this.name, endpoint.label);
      return response;
    } catch (err) {
      if (err instanceof UpstreamFailureStatus) {
        this.options.metrics?.served(this.name, endpoint.label);
        return err.response;
      }
      const code = codeOf(err);
      if (code !== 'EOPENBREAKER') this.options.logger.warn({ upstream: this.name, endpoint: endpoint.label, code, message: (err as Error).message }, 'upstream unreachable');
      // With one endpoint there is nowhere else to go: its breaker decides, as it always has.
      if (this.endpoints.length > 1 && code !== undefined && UNREACHABLE.has(code)) endpoint.eject();
      throw err;
    }
  }

  private mayRetry(request: UpstreamRequest, err: unknown): boolean {
    if (err instanceof UpstreamTimeout || !idempotent(request)) return false;
    const code = codeOf(err);
    if (code === undefined) return false;
    return NOT_REACHED.has(code) || (CONNECTION_LOST.has(code) && SAFE_METHODS.has(request.method));
  }

  /**
   * The endpoint with the fewest requests in flight (ties in turn) among those whose breaker is
   * closed; a half-open one (due a trial) also takes idempotent requests, which can go elsewhere
   * if the trial fails. Undefined when none but `exclude` can take it.
   */
  private pick(request: UpstreamRequest, exclude?: UpstreamEndpoint): UpstreamEndpoint | undefined {
    const available = this.endpoints.filter((e) => e !== exclude && e.state !== 'open');
    const closed = available.filter((e) => e.state === 'closed');
    const candidates = closed.length > 0 && !idempotent(request) ? closed : available;
    if (candidates.length === 0) return undefined;
    this.cursor = (this.cursor + 1) % this.endpoints.length;
    let best: UpstreamEndpoint | undefined;
    for (let i = 0; i < this.endpoints.length; i += 1) {
      const endpoint = this.endpoints[(this.cursor + i) % this.endpoints.length]!;
      if (candidates.includes(endpoint) && (best === undefined || endpoint.inFlight < best.inFlight)) best = endpoint;
    }
    return best;
  }

  private problem(err: unknown): AppError {
    if (err instanceof UpstreamTimeout) return new AppError(504, 'upstream_timeout', `The ${this.name} service did not answer in time.`);
    const retryAfter = Math.min(...this.endpoints.map((e) => e.retryAfterSeconds()));
    return unavailable(`The ${this.name} service is unavailable; retry shortly.`, retryAfter);
  }
}
