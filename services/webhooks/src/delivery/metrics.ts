// Metrics of the delivery engine: the backlog (deliveries waiting, and how late the most overdue one is:
// the figure that says the workers are not keeping up) read at scrape time, and every attempt as it ends.
import type { Knex } from '@taskflow/shared';
import client from 'prom-client';
import type { AttemptOutcome } from '../db/deliveries';

export class WebhookMetrics {
  readonly registry = new client.Registry();
  private readonly attempts: client.Counter<'outcome'>;
  private readonly duration: client.Histogram;

  /** `db` answers the backlog gauges; without it (the observability test) they are only registered. */
  constructor(db?: Knex) {
    let pending: Promise<{ waiting: number; overdue: number }> | undefined;
    // Both gauges are read in one scrape: one query serves them.
    const read = () => {
      pending ??= (
        db
          ? db
              .raw(
                `select count(*)::int as waiting,
                        coalesce(extract(epoch from now() - min(d.next_attempt_at) filter (where d.next_attempt_at <= now())), 0)::float8 as overdue
                   from webhooks.deliveries d join webhooks.endpoints e on e.id = d.endpoint_id and e.enabled
                  where d.status in ('pending', 'retrying')`,
              )
              .then((r: { rows: Array<{ waiting: number; overdue: number }> }) => ({ waiting: Number(r.rows[0]?.waiting ?? 0), overdue: Number(r.rows[0]?.overdue ?? 0) }))
          : Promise.resolve({ waiting: Number.NaN, overdue: Number.NaN })
      ).finally(() => setImmediate(() => (pending = undefined)));
      return pending;
    };
    new client.Gauge({
      name: 'taskflow_webhook_deliveries_waiting',
      help: 'Webhook deliveries of enabled endpoints not yet succeeded or failed for good (due now or waiting for a retry)',
      registers: [this.registry],
      async collect() {
        this.set((await read().catch(() => ({ waiting: Number.NaN }))).waiting);
      },
    });
    new client.Gauge({
      name: 'taskflow_webhook_oldest_overdue_seconds',
      help: 'How long the most overdue webhook delivery has been due without an attempt (0 when none is overdue)',
      registers: [this.registry],
      async collect() {
        this.set((await read().catch(() => ({ overdue: Number.NaN }))).overdue);
      },
    });
    this.attempts = new client.Counter({
      name: 'taskflow_webhook_attempts_total',
      help: 'Webhook delivery attempts by outcome: succeeded, retrying (will be tried again) or failed (no retry left, or 410)',
      labelNames: ['outcome'],
      registers: [this.registry],
    });
    this.duration = new client.Histogram({
      name: 'taskflow_webhook_attempt_seconds',
      help: 'Time of one webhook attempt (connect, send, answer), whatever its outcome',
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers: [this.registry],
    });
  }

  attempted(outcome: AttemptOutcome, durationMs: number): void {
    this.attempts.inc({ outcome: outcome.succeeded ? 'succeeded' : outcome.retryInSeconds === null ? 'failed' : 'retrying' });
    this.duration.observe(durationMs / 1000);
  }
}
