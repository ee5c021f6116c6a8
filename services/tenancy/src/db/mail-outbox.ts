// The mail outbox: every SQL statement on tenancy.mail_outbox.
import type { Knex } from '@taskflow/shared';

export interface QueuedMail {
  id: string;
  to_address: string;
  subject: string;
  text_body: string;
  attempts: number;
  created_at: Date;
}

export async function queueMail(trx: Knex.Transaction, mail: { id: string; to: string; subject: string; text: string }): Promise<void> {
  await trx('mail_outbox').insert({ id: mail.id, to_address: mail.to, subject: mail.subject, text_body: mail.text });
}

/** Claims due mail (skipping rows another mailer holds) for the rest of the transaction. */
export async function claimDueMail(trx: Knex.Transaction, limit: number): Promise<QueuedMail[]> {
  return trx('mail_outbox')
    .select('id', 'to_address', 'subject', 'text_body', 'attempts', 'created_at')
    .whereNull('sent_at')
    .where('next_attempt_at', '<=', trx.fn.now())
    .orderBy('next_attempt_at')
    .limit(limit)
    .forUpdate()
    .skipLocked();
}

/** Marks the mail sent and forgets its body (it holds the invite link). */
export async function markMailSent(trx: Knex.Transaction, id: string): Promise<void> {
  await trx('mail_outbox')
    .where({ id })
    .update({ sent_at: trx.fn.now(), text_body: null, attempts: trx.raw('attempts + 1'), last_error: null });
}

export async function markMailFailed(trx: Knex.Transaction, id: string, retryInMs: number, error: string): Promise<void> {
  await trx('mail_outbox')
    .where({ id })
    .update({
      attempts: trx.raw('attempts + 1'),
      last_error: error.slice(0, 1000),
      next_attempt_at: trx.raw('now() + make_interval(secs => ?)', [retryInMs / 1000]),
    });
}

/** When the earliest unsent mail becomes due (undefined when nothing is waiting). */
export async function nextMailDueAt(db: Knex): Promise<Date | undefined> {
  const row = await db('mail_outbox').whereNull('sent_at').min({ at: 'next_attempt_at' }).first();
  return row?.at ? new Date(row.at) : undefined;
}
