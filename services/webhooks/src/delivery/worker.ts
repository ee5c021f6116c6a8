// The delivery worker of one replica: claims due deliveries (FOR UPDATE SKIP LOCKED, leased, at most
// WEBHOOK_ENDPOINT_CONCURRENCY in flight per endpoint across replicas and WEBHOOK_CONCURRENCY in this
// one), sends each signed, and records the attempt. Woken by the NOTIFY of queued deliveries, when an
// attempt finishes, and by polling. A replica that dies mid-attempt loses its leases; another sends again.
import { DrainLoop, type Logger, NotificationListener } from '@taskflow/shared';
import { claimDueDeliveries, type ClaimedDelivery, DELIVERIES_CHANNEL, nextDueAt } from '../db/deliveries';
import { type AttemptDeps, concludeAttempt } from '../domain/attempts';
import type { SecretBox } from '../domain/secrets';
import { signedHeaders } from '../domain/signing';
import type { UrlGuard } from '../domain/url-safety';
import type { WebhookMetrics } from './metrics';
import { postWebhook } from './post';

export interface DeliveryWorkerOptions extends AttemptDeps {
  databaseUrl: string;
  logger: Logger;
  guard: UrlGuard;
  secrets: SecretBox;
  timeoutMs: number;
  concurrency: number;
  endpointConcurrency: number;
  /** A lease outlives the attempt's timeout by this much (default 30 s). */
  leaseMarginMs?: number;
  pollIntervalMs?: number;
  metrics?: WebhookMetrics;
}

export class DeliveryWorker {
  private readonly loop: DrainLoop;
  private readonly listener: NotificationListener;
  private readonly inFlight = new Set<Promise<void>>();
  /** Attempts finished by this replica (tests and the bench read it). */
  attempted = 0;

  constructor(private readonly options: DeliveryWorkerOptions) {
    this.loop = new DrainLoop({
      round: () => this.round(),
      retryAfter: (err, failures) => {
        if (failures === 1 || failures % 20 === 0) options.logger.warn({ err: (err as Error).message }, 'delivery worker round failed; retrying');
        return Math.min(this.pollMs, 250 * 2 ** Math.min(failures, 5));
      },
    });
    this.listener = new NotificationListener({ databaseUrl: options.databaseUrl, channel: DELIVERIES_CHANNEL, onNotify: () => this.wake(), logger: options.logger, worker: 'webhook delivery worker' });
  }

  private get pollMs(): number {
    return this.options.pollIntervalMs ?? 5000;
  }

  async start(): Promise<void> {
    this.loop.start();
    await this.listener.start();
  }

  wake(): void {
    this.loop.wake();
  }

  /** Claims as much as the caps allow and starts sending; returns when to look again at the latest. */
  private async round(): Promise<number> {
    const room = this.options.concurrency - this.inFlight.size;
    if (room > 0) {
      const claimed = await claimDueDeliveries(this.options.db, {
        limit: room,
        perEndpoint: this.options.endpointConcurrency,
        leaseMs: this.options.timeoutMs + (this.options.leaseMarginMs ?? 30_000),
      });
      for (const delivery of claimed) this.track(this.send(delivery));
    }
    const due = await nextDueAt(this.options.db);
    return due ? Math.max(10, Math.min(this.pollMs, due.getTime() - Date.now())) : this.pollMs;
  }

  private track(attempt: Promise<void>): void {
    this.inFlight.add(attempt);
    void attempt.finally(() => {
      this.inFlight.delete(attempt);
      this.wake();
    });
  }

  private async send(delivery: ClaimedDelivery): Promise<void> {
    const { logger } = this.options;
    try {
      const secrets = this.signingSecrets(delivery);
      const headers = signedHeaders(delivery.event_id, new Date(), delivery.body, secrets);
      const result = await postWebhook(delivery.url, { ...headers }, delivery.body, { timeoutMs: this.options.timeoutMs, guard: this.options.guard });
      const outcome = await concludeAttempt(this.options, delivery, result);
      this.attempted += 1;
      this.options.metrics?.attempted(outcome, result.durationMs);
      logger.debug({ delivery_id: delivery.id, event_id: delivery.event_id, status: result.statusCode, ms: result.durationMs, retry_in_s: outcome.retryInSeconds }, 'webhook attempt');
    } catch (err) {
      // The lease expires and the delivery is attempted again (by this or another replica).
      logger.warn({ delivery_id: delivery.id, err: (err as Error).message }, 'webhook attempt could not be recorded');
    }
  }

  /** The current secret, then the previous one while its overlap lasts (read with the claim: no query per attempt). */
  private signingSecrets(stored: ClaimedDelivery): string[] {
    const secrets = [this.options.secrets.open(stored.secret_encrypted)];
    if (stored.previous_secret_encrypted && stored.previous_secret_expires_at && stored.previous_secret_expires_at.getTime() > Date.now()) {
      secrets.push(this.options.secrets.open(stored.previous_secret_encrypted));
    }
    return secrets;
  }

  /** Stops claiming and waits up to `graceMs` for attempts in flight (the rest are retried once their leases expire). */
  async stop(graceMs = 5000): Promise<void> {
    await this.listener.stop();
    await this.loop.stop();
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([Promise.allSettled([...this.inFlight]), new Promise((r) => (timer = setTimeout(r, graceMs)))]);
    clearTimeout(timer);
  }
}
