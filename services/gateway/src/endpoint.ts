// One endpoint (base URL) of an upstream service: keep-alive agent, a fresh timeout per call, its own circuit breaker.
import http from 'node:http';
import type { Logger } from '@taskflow/shared';
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
  /**
   * A body passed on as it arrives instead of `body`, handed over as soon as the headers arrive:
   * a `text/event-stream` (never timed out), or a large body (the deadline still covers all of it).
   */
  stream?: UpstreamStream;
}

export interface UpstreamStream {
  body: http.IncomingMessage;
  /** An event stream (true) or an ordinary body too large to hold (false). */
  events: boolean;
  /** Closes the upstream request (the client went away). */
  cancel(): void;
}

/**
 * Answers larger than this (or of unknown length) are streamed to the client, not held whole.
 * Smaller ones are read whole first, so an upstream failing mid-body still becomes a clean 503
 * (and a GET another try); a streamed body that breaks can only be cut short.
 */
export const STREAMED_BODY_BYTES = 64 * 1024;

/** Statuses that mean the upstream itself is failing; passed to the client but counted by the breaker. */
const FAILING_STATUSES = new Set([502, 503, 504]);

const isEventStream = (headers: http.IncomingHttpHeaders) => String(headers['content-type'] ?? '').startsWith('text/event-stream');
/** A client asking for a stream: its request gets a socket of its own, not one of the pooled keep-alive ones. */
const wantsEventStream = (request: UpstreamRequest) => (request.headers.accept ?? '').includes('text/event-stream');
/** A successful answer whose body is large or of unknown length (a failing status's small body is always read whole). */
function isLargeBody(res: http.IncomingMessage): boolean {
  if (FAILING_STATUSES.has(res.statusCode ?? 502)) return false;
  const length = res.headers['content-length'];
  if (length === undefined) return res.headers['transfer-encoding'] !== undefined;
  return Number(length) > STREAMED_BODY_BYTES;
}

export type BreakerState = 'closed' | 'half_open' | 'open';

/** As the breaker gauges report it. */
export const breakerStateValue: Record<BreakerState, number> = { closed: 0, half_open: 1, open: 2 };

export interface EndpointOptions {
  /** The upstream's name (identity, work, ...), for logs and metrics. */
  upstream: string;
  baseUrl: string;
  timeoutMs: number;
  breakerResetMs: number;
  logger: Logger;
  maxSockets?: number;
}

/** Safe to send twice: retried once when a reused keep-alive socket turns out to be dead. */
const RETRYABLE_METHODS = new Set(['GET', 'HEAD']);

/** The endpoint answered, with a status meaning it is failing (counted by its breaker). */
export class UpstreamFailureStatus extends Error {
  constructor(readonly response: UpstreamResponse) {
    super(`upstream answered ${response.status}`);
    this.name = 'UpstreamFailureStatus';
  }
}

export class UpstreamTimeout extends Error {
  constructor(timeoutMs: number) {
    super(`no answer within ${timeoutMs} ms`);
    this.name = 'UpstreamTimeout';
  }
}

export interface ExchangeError extends Error {
  code?: string;
  reusedSocket?: boolean;
}

export class UpstreamEndpoint {
  /** host:port, as metrics and logs name it. */
  readonly label: string;
  private readonly agent: http.Agent;
  /** Open streams last for minutes: they never take a pooled socket from ordinary requests. */
  private readonly streamAgent = new http.Agent({ keepAlive: false });
  private readonly host: string;
  private readonly port: number;
  private readonly breaker: CircuitBreaker<[UpstreamRequest], UpstreamResponse>;
  private openedAt = 0;
  private active = 0;

  constructor(private readonly options: EndpointOptions) {
    const url = new URL(options.baseUrl);
    if (url.protocol !== 'http:') throw new Error(`${options.upstream}: upstreams are reached over plain http inside the network, got ${options.baseUrl}`);
    this.host = url.hostname.replace(/^\[(.*)\]$/, '$1');
    this.port = Number(url.port || 80);
    this.label = `${url.hostname}:${this.port}`;
    // Idle sockets are dropped after 30 s, well before the services' 65 s keep-alive timeout.
    this.agent = new http.Agent({ keepAlive: true, maxSockets: options.maxSockets ?? 64, timeout: 30_000 });
    this.breaker = new CircuitBreaker((request: UpstreamRequest) => this.exchangeWithTimeout(request), {
      name: `${options.upstream} ${this.label}`,
      timeout: false, // exchangeWithTimeout aborts each call itself
      volumeThreshold: 10,
      errorThresholdPercentage: 50,
      resetTimeout: options.breakerResetMs,
    });
    const { logger } = options;
    const where = { upstream: options.upstream, endpoint: this.label };
    this.breaker.on('open', () => {
      this.openedAt = Date.now();
      logger.warn({ ...where, reset_ms: options.breakerResetMs }, 'circuit breaker opened');
    });
    this.breaker.on('halfOpen', () => logger.info(where, 'circuit breaker half-open, trying one request'));
    this.breaker.on('close', () => logger.info(where, 'circuit breaker closed'));
  }

  get state(): BreakerState {
    if (this.breaker.opened) return 'open';
    return this.breaker.halfOpen ? 'half_open' : 'closed';
  }

  /** Requests sent and not yet answered. */
  get inFlight(): number {
    return this.active;
  }

  /**
   * Sends `request` through the breaker: the answer as it came, or a rejection: UpstreamFailureStatus
   * (a 502/503/504 answer, counted), UpstreamTimeout, a connection error (`code`), or EOPENBREAKER.
   */
  async send(request: UpstreamRequest): Promise<UpstreamResponse> {
    this.active += 1;
    try {
      return await this.breaker.fire(request);
    } finally {
      this.active -= 1;
    }
  }

  /** Takes the endpoint out of rotation at once (it refused a connection): half-open again after the reset time. */
  eject(): void {
    this.breaker.open();
  }

  /** Seconds until the breaker lets a trial request through (at least 1). */
  retryAfterSeconds(): number {
    if (!this.breaker.opened) return 1;
    return Math.max(1, Math.ceil((this.openedAt + this.options.breakerResetMs - Date.now()) / 1000));
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
          settle(undefined, { status: res.statusCode ?? 502, headers: res.headers, body: Buffer.alloc(0), stream: { body: res, events: true, cancel: () => call.destroy() } });
          return;
        }
        // A large body: the breaker sees a success at its headers; the deadline still cuts a body
        // that has not finished in time (the client then sees its connection closed).
        if (isLargeBody(res)) {
          const cut = () => call.destroy();
          settle(undefined, { status: res.statusCode ?? 502, headers: res.headers, body: Buffer.alloc(0), stream: { body: res, events: false, cancel: cut } });
          signal.addEventListener('abort', cut, { once: true });
          res.once('close', () => signal.removeEventListener('abort', cut));
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
