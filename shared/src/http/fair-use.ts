// Fair use between tenants inside one service: a per-tenant concurrency cap with a fair queue in front of
// the handlers (shared/src/http/fair-queue.ts). A tenant is the organization a request names (when the
// caller belongs to it), else the caller. One tenant's flood then holds at most `perTenant` of the
// process's `total` slots (and so of its database pool); its excess waits its turn or is refused with
// 429 + Retry-After, while other tenants' requests start at once.
import type { Context, Middleware } from 'koa';
import { z } from 'zod';
import type { AuthUser } from '../auth/middleware';
import { AppError } from './errors';
import { FairQueue, type FairQueueLimits, NotAdmitted } from './fair-queue';
import { FairUseMetrics } from './metrics';

/** The key a request counts against (its tenant); undefined: the request is not held to the cap. */
export type TenantOf = (ctx: Context) => string | undefined | Promise<string | undefined>;

export interface FairUseOptions extends FairQueueLimits {
  /** Longest a request waits for a slot before it is refused. */
  queueTimeoutMs: number;
  tenantOf: TenantOf;
}

const positiveInt = (fallback: number) => z.coerce.number().int().min(1).default(fallback);

/**
 * Environment of the fair-use layer. Defaults measured with bench/fair-use.ts against the default database
 * pool of 10 connections (shared/src/db): 8 requests of the process at once leave two connections to
 * the outbox relay and the consumer, and one tenant's 4 leave at least 4 to everyone else.
 */
export const fairUseConfig = {
  FAIR_USE_TENANT_CONCURRENCY: positiveInt(4),
  /**
   * What one tenant may run once it has been the only one with requests for a second (FairQueue's
   * `aloneAfterMs`): one busy tenant is not held to its share
   * of an idle process, and the slots above it stay free so that another tenant's request starts at once.
   * Kept between FAIR_USE_TENANT_CONCURRENCY and FAIR_USE_CONCURRENCY.
   */
  FAIR_USE_ALONE_CONCURRENCY: positiveInt(6),
  FAIR_USE_CONCURRENCY: positiveInt(8),
  FAIR_USE_QUEUE: z.coerce.number().int().min(0).default(16),
  FAIR_USE_QUEUE_TIMEOUT_MS: positiveInt(5000),
};

export type FairUseConfig = { [K in keyof typeof fairUseConfig]: z.output<(typeof fairUseConfig)[K]> };

export const fairUseLimits = (config: FairUseConfig): Omit<FairUseOptions, 'tenantOf'> => ({
  perTenant: config.FAIR_USE_TENANT_CONCURRENCY,
  total: config.FAIR_USE_CONCURRENCY,
  alone: Math.min(config.FAIR_USE_CONCURRENCY, Math.max(config.FAIR_USE_TENANT_CONCURRENCY, config.FAIR_USE_ALONE_CONCURRENCY)),
  queuePerTenant: config.FAIR_USE_QUEUE,
  queueTimeoutMs: config.FAIR_USE_QUEUE_TIMEOUT_MS,
});

const RETRY_AFTER_SECONDS = 1;

/** The organization a validated request names: a path parameter, the `organization` filter or body field. */
function organizationNamed(ctx: Context): string | undefined {
  const input = ctx.state.input as { params?: unknown; query?: unknown; body?: unknown } | undefined;
  for (const part of [input?.params, input?.query, input?.body]) {
    const value = (part as { organization?: unknown } | undefined)?.organization;
    if (typeof value === 'string') return value;
  }
  return undefined;
}

/**
 * Tenant = the organization the request names when the caller is a member of it (`isMember`), else the
 * caller. Never an organization the caller merely names: a stranger's requests must not use up, or wait
 * in, another organization's slots.
 */
export function organizationOrUser(isMember: (userId: string, organizationId: string) => Promise<boolean>): TenantOf {
  return async (ctx) => {
    const user = ctx.state.user as AuthUser | undefined;
    if (!user) return undefined;
    const organization = organizationNamed(ctx);
    if (organization && (await isMember(user.id, organization).catch(() => false))) return `organization:${organization}`;
    return `user:${user.id}`;
  };
}

export class FairUse {
  readonly queue: FairQueue;
  readonly metrics: FairUseMetrics;

  constructor(private readonly options: FairUseOptions) {
    this.queue = new FairQueue(options);
    this.metrics = new FairUseMetrics({ running: () => this.queue.running, waiting: () => this.queue.waiting });
  }

  /** Runs `next` in a slot of the request's tenant (waiting for one if need be), or answers 429/503 + Retry-After. */
  readonly middleware: Middleware = async (ctx, next) => {
    const tenant = await this.options.tenantOf(ctx);
    if (tenant === undefined) return next();
    const release = await this.slotFor(ctx, tenant);
    try {
      await next();
    } finally {
      release();
    }
  };

  private async slotFor(ctx: Context, tenant: string): Promise<() => void> {
    if (!this.queue.mustWait(tenant)) return this.queue.acquire(tenant);
    // Waits end at the timeout, or when the client goes away (its answer could not be sent anyway).
    const gone = new AbortController();
    const onClose = () => gone.abort(new Error('client closed the connection'));
    ctx.res.once('close', onClose);
    const started = process.hrtime.bigint();
    try {
      const release = await this.queue.acquire(tenant, AbortSignal.any([gone.signal, AbortSignal.timeout(this.options.queueTimeoutMs)]));
      this.metrics.queued.inc();
      this.metrics.waitSeconds.observe(Number(process.hrtime.bigint() - started) / 1e9);
      return release;
    } catch (err) {
      if (!(err instanceof NotAdmitted)) throw err;
      if (err.reason === 'aborted') this.metrics.queued.inc();
      this.metrics.rejected.inc({ reason: err.reason === 'queue_full' ? 'queue_full' : gone.signal.aborted ? 'client_gone' : 'timeout' });
      throw refusal(err);
    } finally {
      ctx.res.off('close', onClose);
    }
  }
}

/** The tenant's own load is 429 (it can slow down); a process full of other tenants' work is 503. */
function refusal(err: NotAdmitted): AppError {
  const headers = { 'Retry-After': String(RETRY_AFTER_SECONDS) };
  if (err.reason === 'queue_full' || err.tenantAtCap) {
    return new AppError(429, 'too_many_concurrent_requests', 'Too many requests of yours are in progress or waiting; retry later.', undefined, headers);
  }
  return new AppError(503, 'service_busy', 'The service is busy; retry shortly.', undefined, headers);
}
