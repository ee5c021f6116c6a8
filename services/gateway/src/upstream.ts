// One client per upstream service: keep-alive agent, a fresh timeout per call, one circuit breaker.
import http from 'node:http';
import { AppError, type Logger, unavailable } from '@taskflow/shared';
import CircuitBreaker from 'opossum';

export interface UpstreamRequest {
  method: string;
  /** Path and query exactly as the client sent them. */
  path: string;
  headers: Record<string, string>;
  body?: Buffer;
}

export interface UpstreamResponse {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
  /** A `text/event-stream` answer: handed over as soon as its headers arrive, read as it comes, never timed out. */
  stream?: UpstreamStream;
}

export interface UpstreamStream {
  body: http.IncomingMessage;
  /** Closes the upstream request (the client went away). */
  cancel(): void;
}

const isEventStream = (headers: http.IncomingHttpHeaders) => String(headers['content-type'] ?? '').startsWith('text/event-stream');
/** A client asking for a stream: its request gets a socket of its own, not one of the pooled keep-alive ones. */
const wantsEventStream = (request: UpstreamRequest) => (request.headers.accept ?? '').includes('text/event-stream');

export type BreakerState = 'closed' | 'half_open' | 'open';

export interface UpstreamOptions {
  name: string;
  baseUrl: string;
  timeoutMs: number;
  breakerResetMs: number;
  logger: Logger;
  maxSockets?: number;
}

/** Statuses that mean the upstream itself is failing; passed to the client but counted by the breaker. */
const FAILING_STATUSES = new Set([502, 503, 504]);
/** Safe to send twice: retried once when a reused keep-alive socket turns out to be dead. */
const RETRYABLE_METHODS = new Set(['GET', 'HEAD']);

class UpstreamFailureStatus extends Error {
  constructor(readonly response: UpstreamResponse) {
    super(`upstream answered ${response.status}`);
    this.name = 'UpstreamFailureStatus';
  }
}

class UpstreamTimeout extends Error {
  constructor(timeoutMs: number) {
    super(`no answer within ${timeoutMs} ms`);
    this.name = 'UpstreamTimeout';
  }
}

interface ExchangeError extends Error {
  code?: string;
  reusedSocket?: boolean;
}

export class UpstreamClient {
  readonly name: string;
  private readonly agent: http.Agent;
  /** Open streams last for minutes: they never take a pooled socket from ordinary requests. */
  private readonly streamAgent = new http.Agent({ keepAlive: false });
  private readonly host: string;
  private readonly port: number;
  private readonly breaker: CircuitBreaker<[UpstreamRequest], UpstreamResponse>;
  private openedAt = 0;

  constructor(private readonly options: UpstreamOptions) {
    this.name = options.name;
    const url = new URL(options.baseUrl);
    if (url.protocol !== 'http:') throw new Error(`${options.name}: upstreams are reached over plain http inside the network, got ${options.baseUrl}`);
    this.host = url.hostname.replace(/^\[(.*)\]$/, '$1');
    this.port = Number(url.port || 80);
    // Idle sockets are dropped after 30 s, well before the services' 65 s keep-alive timeout.
    this.agent = new http.Agent({ keepAlive: true, maxSockets: options.maxSockets ?? 64, timeout: 30_000 });
    this.breaker = new CircuitBreaker((request: UpstreamRequest) => this.exchangeWithTimeout(request), {
      name: options.name,
      timeout: false, // exchangeWithTimeout aborts each call itself
      volumeThreshold: 10,
      errorThresholdPercentage: 50,
      resetTimeout: options.breakerResetMs,
    });
    const { logger } = options;
    this.breaker.on('open', () => {
      this.openedAt = Date.now();
      logger.warn({ upstream: this.name, reset_ms: options.breakerResetMs }, 'circuit breaker opened');
    });
    this.breaker.on('halfOpen', () => logger.info({ upstream: this.name }, 'circuit breaker half-open, trying one request'));
    this.breaker.on('close', () => logger.info({ upstream: this.name }, 'circuit breaker closed'));
  }

  get state(): BreakerState {
    if (this.breaker.opened) return 'open';
    return this.breaker.halfOpen ? 'half_open' : 'closed';
  }

  /**
   * Sends `request` through the breaker. Any upstream answer is returned as it came (including its
   * 502/503/504, which count as failures); no answer becomes a problem: 503 + Retry-After when the
   * upstream cannot be reached or its breaker is open, 504 when it did not answer in time.
   */
  async forward(request: UpstreamRequest): Promise<UpstreamResponse> {
    try {
      return await this.breaker.fire(request);
    } catch (err) {
      if (err instanceof UpstreamFailureStatus) return err.response;
      if (err instanceof UpstreamTimeout) {
        throw new AppError(504, 'upstream_timeout', `The ${this.name} service did not answer in time.`);
      }
      const code = (err as ExchangeError).code;
      if (code !== 'EOPENBREAKER') this.options.logger.warn({ upstream: this.name, code, message: (err as Error).message }, 'upstream unreachable');
      throw unavailable(`The ${this.name} service is unavailable; retry shortly.`, this.retryAfterSeconds());
    }
  }

  /** Readiness probe: the upstream's own /readyz answers 200. Bypasses the breaker on purpose. */
  async checkReady(timeoutMs = 1500): Promise<void> {
    const res = await this.exchange({ method: 'GET', path: '/readyz', headers: { accept: 'application/json' } }, AbortSignal.timeout(timeoutMs));
    if (res.status !== 200) throw new Error(`readyz answered ${res.status}`);
  }

  /** GETs a JSON document from the upstream (e.g. its /openapi.json), outside the breaker. */
  async getJson(path: string, timeoutMs = 2000): Promise<unknown> {
    const res = await this.exchange({ method: 'GET', path, headers: { accept: 'application/json' } }, AbortSignal.timeout(timeoutMs));
    if (res.status !== 200) throw new Error(`${path} answered ${res.status}`);
    return JSON.parse(res.body.toString('utf8')) as unknown;
  }

  close(): void {
    this.breaker.shutdown();
    this.agent.destroy();
    this.streamAgent.destroy();
  }

  /** Seconds until the breaker lets a trial request through (at least 1). */
  private retryAfterSeconds(): number {
    if (!this.breaker.opened) return 1;
    return Math.max(1, Math.ceil((this.openedAt + this.options.breakerResetMs - Date.now()) / 1000));
  }

  /** The breaker's action: one deadline for the whole call, including the single allowed retry. */
  private async exchangeWithTimeout(request: UpstreamRequest): Promise<UpstreamResponse> {
    const signal = AbortSignal.timeout(this.options.timeoutMs);
    let response: UpstreamResponse;
    try {
      response = await this.exchange(request, signal);
    } catch (err) {
      const e = err as ExchangeError;
      // A keep-alive socket the upstream closed while idle: the request never reached it. Only
      // GET/HEAD are sent again; any other method may have had an effect and is never repeated.
      const staleSocket = e.reusedSocket === true && (e.code === 'ECONNRESET' || e.code === 'EPIPE');
      if (!staleSocket || !RETRYABLE_METHODS.has(request.method) || signal.aborted) throw err;
      response = await this.exchange(request, signal);
    }
    if (FAILING_STATUSES.has(response.status)) throw new UpstreamFailureStatus(response);
    return response;
  }

  private exchange(request: UpstreamRequest, signal: AbortSignal): Promise<UpstreamResponse> {
    return new Promise((resolve, reject) => {
      const headers = { ...request.headers };
      if (request.body && request.body.length > 0) headers['content-length'] = String(request.body.length);
      const agent = wantsEventStream(request) ? this.streamAgent : this.agent;
      const call = http.request({ agent, host: this.host, port: this.port, method: request.method, path: request.path, headers });
      let settled = false;
      const settle = (err: Error | undefined, response?: UpstreamResponse) => {
        if (settled) return;
        settled = true;
        signal.removeEventListener('abort', onAbort);
        if (err) reject(err);
        else resolve(response!);
      };
      const onAbort = () => {
        settle(new UpstreamTimeout(this.options.timeoutMs));
        call.destroy();
      };
      if (signal.aborted) {
        onAbort();
        return;
      }
      signal.addEventListener('abort', onAbort, { once: true });
      call.on('error', (err: ExchangeError) => {
        err.reusedSocket = call.reusedSocket;
        settle(err);
      });
      call.on('response', (res) => {
        // The breaker and the timeout see one call that succeeded when the stream opened.
        if (isEventStream(res.headers)) {
          settle(undefined, { status: res.statusCode ?? 502, headers: res.headers, body: Buffer.alloc(0), stream: { body: res, cancel: () => call.destroy() } });
          return;
        }
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () => settle(undefined, { status: res.statusCode ?? 502, headers: res.headers, body: Buffer.concat(chunks) }));
        res.on('error', (err) => settle(err));
        res.on('close', () => {
          if (!res.complete) settle(Object.assign(new Error('upstream closed the response early'), { code: 'ECONNRESET' }));
        });
      });
      call.end(request.body && request.body.length > 0 ? request.body : undefined);
    });
  }
}
