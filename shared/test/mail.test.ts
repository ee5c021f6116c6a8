// The shared mail mechanism: outbox rows written in a transaction, sent after commit by mailers that
// share the work (SKIP LOCKED), wake on any replica's NOTIFY, and let nodemailer build every message.
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Knex } from 'knex';
import { createDb, createLogger, FileTransport, Mailer, type MailTransport, mailOutboxMigration, migrate, type OutgoingMail, queueMail, queueMailToSelected } from '@taskflow/shared';
import { createTestDatabase, eventually, readDevMail, type TestDatabase } from '@taskflow/shared/testing';

const logger = createLogger('mail-test', 'silent');
const schema = 'mailsvc';
const from = 'TaskFlow <no-reply@taskflow.local>';

/** Records what it was asked to deliver, so a test can count deliveries across mailers. */
class RecordingTransport implements MailTransport {
  readonly kind = 'recording';
  readonly delivered: OutgoingMail[] = [];
  async deliver(mail: OutgoingMail): Promise<undefined> {
    // A little latency, so two mailers really overlap.
    await new Promise((r) => setImmediate(r));
    this.delivered.push(mail);
    return undefined;
  }
  async close(): Promise<void> {}
}

describe('shared mail outbox and mailer', () => {
  let database: TestDatabase;
  let db: Knex;
  let dir: string;
  const mailers: Mailer[] = [];

  const startMailer = async (transport: MailTransport, options: { listen?: boolean; pollIntervalMs?: number } = {}) => {
    const mailer = new Mailer({
      db,
      transport,
      from,
      logger,
      batchSize: 5,
      pollIntervalMs: options.pollIntervalMs ?? 200,
      ...(options.listen === false ? {} : { databaseUrl: database.url, schema }),
    });
    await mailer.start();
    mailers.push(mailer);
    return mailer;
  };
  const queue = (to: string, subject: string, text = 'hello') => db.transaction((trx) => queueMail(trx, { id: randomUUID(), to, subject, text }));

  beforeAll(async () => {
    database = await createTestDatabase('tf_mail');
    db = createDb({ url: database.url, schema });
    await migrate(db, schema, [mailOutboxMigration, { name: '001_accounts', up: (k) => k.raw('CREATE TABLE accounts (email text)') }]);
    dir = await mkdtemp(path.join(tmpdir(), 'shared-mail-'));
  });
  afterEach(async () => {
    for (const m of mailers.splice(0)) await m.stop();
    await db('mail_outbox').delete();
    await rm(dir, { recursive: true, force: true });
  });
  afterAll(async () => {
    await db.destroy();
    await database.drop();
  });

  it('writes development mail built by nodemailer, where a CR/LF in the subject or body injects no header', async () => {
    await startMailer(new FileTransport(dir));
    const hostile = 'Acme\r\nBcc: x@evil.example';
    await queue('ada@example.com', `Join ${hostile}`, `You are invited to "${hostile}".`);
    const [mail] = await eventually(async () => {
      const all = await readDevMail(dir);
      return all.length === 1 && all;
    });
    expect([...mail!.headers.keys()].sort()).toEqual(['content-transfer-encoding', 'content-type', 'date', 'from', 'message-id', 'mime-version', 'subject', 'to']);
    expect(mail!.headers.get('to')).toEqual(['ada@example.com']);
    expect(mail!.subject).toBe('Join Acme Bcc: x@evil.example');
    expect(mail!.raw.slice(0, mail!.raw.indexOf('\r\n\r\n'))).not.toMatch(/(^|\r\n)bcc:/i);
    expect(mail!.file).toMatch(/^\d{4}-\d\d-\d\dT[\d-]+Z-[0-9a-f-]{36}\.eml$/);
  });

  it('sends each message exactly once when several mailers drain the same outbox', async () => {
    const transports = [new RecordingTransport(), new RecordingTransport(), new RecordingTransport()];
    for (const t of transports) await startMailer(t);
    await db.transaction(async (trx) => {
      for (let i = 0; i < 40; i += 1) await queueMail(trx, { id: randomUUID(), to: `u${i}@example.com`, subject: 'S', text: 'T' });
    });
    await eventually(async () => (await db('mail_outbox').whereNull('sent_at').count({ n: '*' }).first())?.n === '0', 10_000);
    const delivered = transports.flatMap((t) => t.delivered.map((m) => m.to)).sort();
    expect(delivered).toEqual(Array.from({ length: 40 }, (_, i) => `u${i}@example.com`).sort());
    expect(await db('mail_outbox').whereNotNull('text_body').count({ n: '*' }).first()).toEqual({ n: '0' });
  });

  it('wakes on mail committed by another process at once, not at its next poll', async () => {
    const transport = new RecordingTransport();
    // Polls once a minute: only the NOTIFY can make it send within the test's wait.
    await startMailer(transport, { pollIntervalMs: 60_000 });
    await eventually(async () => (await db.raw('SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = current_database() AND query LIKE ?', ['LISTEN%taskflow_mail_%'])).rows[0].n > 0);
    await queue('late@example.com', 'S');
    await eventually(() => transport.delivered.length === 1, 5000);
    expect(transport.delivered[0]).toMatchObject({ to: 'late@example.com', from });
  });

  it('queues to a selected recipient with the same statements whether or not one exists', async () => {
    await db('accounts').insert({ email: 'known@example.com' });
    const select = (email: string) => db('accounts').select({ to_address: 'email' }).where({ email });
    const queued = await db.transaction(async (trx) => [
      await queueMailToSelected(trx, { id: randomUUID(), subject: 'Reset', text: 'link' }, select('known@example.com')),
      await queueMailToSelected(trx, { id: randomUUID(), subject: 'Reset', text: 'link' }, select('nobody@example.com')),
    ]);
    expect(queued).toEqual([true, false]);
    expect(await db('mail_outbox').select('to_address', 'subject')).toEqual([{ to_address: 'known@example.com', subject: 'Reset' }]);
  });
});
