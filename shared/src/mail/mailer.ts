// Sends a schema's mail outbox after commit, safe with many replicas (rows are claimed FOR UPDATE SKIP
// LOCKED). Woken by the NOTIFY every queued mail sends at commit (any replica's), in-process by `wake()`,
// and by polling as the fallback. A failing server is retried with exponential backoff, forever; a sent
// message's body is cleared.
import type { Knex } from 'knex';
import { NotificationListener } from '../db/notifications';
import type { Logger } from '../logging';
import { backoffDelay } from '../messaging/backoff';
import { DrainLoop } from '../messaging/drain-loop';
import { claimDueMail, mailNotifyChannel, markMailFailed, markMailSent, nextMailDueAt } from './outbox';
import type { MailTransport } from './transports';

export interface MailerOptions {
  db: Knex;
  /** With both, the mailer LISTENs for mail committed by any process on this schema. */
  databaseUrl?: string;
  schema?: string;
  transport: MailTransport;
  from: string;
  logger: Logger;
  /** Log message bodies (they hold links with tokens) at info level: development only. */
  logBodies?: boolean;
  pollIntervalMs?: number;
  retryBaseMs?: number;
  retryMaxMs?: number;
  batchSize?: number;
}

export class Mailer {
  private readonly loop: DrainLoop;
  private readonly listener: NotificationListener | undefined;
  sent = 0;

  constructor(private readonly options: MailerOptions) {
    this.loop = new DrainLoop({
      round: () => this.drain(),
      retryAfter: (err, failures) => {
        if (failures === 1 || failures % 20 === 0) this.options.logger.warn({ err: (err as Error).message }, 'mailer failed; retrying');
        return Math.min(this.options.pollIntervalMs ?? 5000, this.retryDelay(failures));
      },
    });
    const { databaseUrl, schema, logger } = options;
    if (databaseUrl && schema) {
      this.listener = new NotificationListener({ databaseUrl, channel: mailNotifyChannel(schema), onNotify: () => this.wake(), logger, worker: 'mailer' });
    }
  }

  async start(): Promise<void> {
    this.loop.start();
    await this.listener?.start();
  }

  /** Sends what is due now (or right after the round in progress). */
  wake(): void {
    this.loop.wake();
  }

  /** The wait after the `failures`-th consecutive failure: 1 s, doubling, at most 10 minutes by default. */
  private retryDelay(failures: number): number {
    return backoffDelay(failures, { baseMs: this.options.retryBaseMs ?? 1000, maxMs: this.options.retryMaxMs ?? 10 * 60_000 });
  }

  /** Sends every due message, then waits for the next one due (at most the poll interval). */
  private async drain(): Promise<number> {
    const poll = this.options.pollIntervalMs ?? 5000;
    const batchSize = this.options.batchSize ?? 20;
    while (this.loop.running && (await this.sendBatch(batchSize)) === batchSize);
    const due = await nextMailDueAt(this.options.db);
    return due ? Math.min(poll, due.getTime() - Date.now()) : poll;
  }

  /** One round in one transaction: claim due mail, try each, record the outcome. Returns how many were claimed. */
  private async sendBatch(limit: number): Promise<number> {
    const { db, transport, from, logger } = this.options;
    return db.transaction(async (trx) => {
      const due = await claimDueMail(trx, limit);
      for (const mail of due) {
        try {
          const where = await transport.deliver({ id: mail.id, from, to: mail.to_address, subject: mail.subject, text: mail.text_body });
          await markMailSent(trx, mail.id);
          this.sent += 1;
          logger.info({ to: mail.to_address, transport: transport.kind, ...(where ? { file: where } : {}), ...(this.options.logBodies ? { body: mail.text_body } : {}) }, 'mail sent');
        } catch (err) {
          const retryIn = this.retryDelay(mail.attempts + 1);
          await markMailFailed(trx, mail.id, retryIn, (err as Error).message);
          logger.warn({ to: mail.to_address, attempt: mail.attempts + 1, retry_in_ms: retryIn, err: (err as Error).message }, 'mail not sent; will retry');
        }
      }
      return due.length;
    });
  }

  async stop(): Promise<void> {
    await this.loop.stop();
    await this.listener?.stop();
    await this.options.transport.close();
  }
}
