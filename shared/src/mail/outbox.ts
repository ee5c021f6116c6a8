// The mail outbox: mail is written in the business transaction (so it exists exactly when the change
// does) and sent after commit by the Mailer. Every SQL statement on <schema>.mail_outbox.
import type { Knex } from 'knex';
import type { Migration } from '../db';

export const MAIL_OUTBOX_TABLE = 'mail_outbox';

/** The NOTIFY channel of a schema's mail outbox: every mailer replica of that schema listens on it. */
export const mailNotifyChannel = (schema: string) => `taskflow_mail_${schema}`;

/** Idempotent, so a schema that created the table before it moved here (tenancy) keeps its rows. */
export const mailOutboxMigration: Migration = {
  name: '000_mail_outbox',
  async up(db) {
    await db.raw(`
      CREATE TABLE IF NOT EXISTS ${MAIL_OUTBOX_TABLE} (
        id uuid PRIMARY KEY,
        to_address text NOT NULL,
        subject text NOT NULL,
        -- Cleared once sent: it may hold a token (invite, verification, password reset).
        text_body text,
        created_at timestamptz NOT NULL DEFAULT now(),
        attempts integer NOT NULL DEFAULT 0,
        next_attempt_at timestamptz NOT NULL DEFAULT now(),
        last_error text,
        sent_at timestamptz
      );
      CREATE INDEX IF NOT EXISTS mail_outbox_due ON ${MAIL_OUTBOX_TABLE} (next_attempt_at) WHERE sent_at IS NULL;
    `);
  },
};

export interface NewMail {
  id: string;
  to: string;
  subject: string;
  text: string;
}

export interface QueuedMail {
  id: string;
  to_address: string;
  subject: string;
  text_body: string;
  attempts: number;
  created_at: Date;
}

/** The NOTIFY is delivered at commit, so every mailer replica wakes only for committed mail. */
async function notifyMailers(trx: Knex.Transaction): Promise<void> {
  await trx.raw(`SELECT pg_notify('taskflow_mail_' || current_schema(), '')`);
}

/** Queues one message in the caller's transaction; it is sent after the transaction commits. */
export async function queueMail(trx: Knex.Transaction, mail: NewMail): Promise<void> {
  await trx(MAIL_OUTBOX_TABLE).insert({ id: mail.id, to_address: mail.to, subject: mail.subject, text_body: mail.text });
  await notifyMailers(trx);
}

/**
 * Queues one message to the address the sub-query `recipient` selects (one row with a `to_address`
 * column), or nothing when it selects none: the same statements run either way, so a caller that must
 * not reveal whether the recipient exists does the same work in both cases. Returns whether it queued.
 */
export async function queueMailToSelected(trx: Knex.Transaction, mail: Omit<NewMail, 'to'>, recipient: Knex.QueryBuilder): Promise<boolean> {
  const { rowCount } = await trx.raw(
    `INSERT INTO ${MAIL_OUTBOX_TABLE} (id, to_address, subject, text_body) SELECT ?, r.to_address, ?, ? FROM (?) r LIMIT 1`,
    [mail.id, mail.subject, mail.text, recipient],
  );
  await notifyMailers(trx);
  return rowCount === 1;
}

/** Claims due mail (skipping rows another mailer holds) for the rest of the transaction. */
export async function claimDueMail(trx: Knex.Transaction, limit: number): Promise<QueuedMail[]> {
  return trx(MAIL_OUTBOX_TABLE)
    .select('id', 'to_address', 'subject', 'text_body', 'attempts', 'created_at')
    .whereNull('sent_at')
    .where('next_attempt_at', '<=', trx.fn.now())
    .orderBy('next_attempt_at')
    .limit(limit)
    .forUpdate()
    .skipLocked();
}

/** Marks the mail sent and forgets its body (it may hold a token). */
export async function markMailSent(trx: Knex.Transaction, id: string): Promise<void> {
  await trx(MAIL_OUTBOX_TABLE)
    .where({ id })
    .update({ sent_at: trx.fn.now(), text_body: null, attempts: trx.raw('attempts + 1'), last_error: null });
}

export async function markMailFailed(trx: Knex.Transaction, id: string, retryInMs: number, error: string): Promise<void> {
  await trx(MAIL_OUTBOX_TABLE)
    .where({ id })
    .update({
      attempts: trx.raw('attempts + 1'),
      last_error: error.slice(0, 1000),
      next_attempt_at: trx.raw('now() + make_interval(secs => ?)', [retryInMs / 1000]),
    });
}

/** When the earliest unsent mail becomes due (undefined when nothing is waiting). */
export async function nextMailDueAt(db: Knex): Promise<Date | undefined> {
  const row = await db(MAIL_OUTBOX_TABLE).whereNull('sent_at').min({ at: 'next_attempt_at' }).first();
  return row?.at ? new Date(row.at) : undefined;
}
