// Where mail goes: an SMTP server, or `.eml` files in a directory during development. nodemailer builds
// every message in both cases, so no header is ever written by hand (a CR/LF in a value cannot start a
// new header: nodemailer folds it into the value).
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import nodemailer, { type Transporter } from 'nodemailer';

export interface OutgoingMail {
  id: string;
  from: string;
  to: string;
  subject: string;
  text: string;
}

export interface MailTransport {
  readonly kind: string;
  /** Delivers the message or throws; returns where it went when that is worth logging (a file path). */
  deliver(mail: OutgoingMail): Promise<string | undefined>;
  close(): Promise<void>;
}

const message = (mail: OutgoingMail) => ({ from: mail.from, to: mail.to, subject: mail.subject, text: mail.text, messageId: `<${mail.id}@taskflow>` });

export class SmtpTransport implements MailTransport {
  readonly kind = 'smtp';
  private readonly transporter: Transporter;

  constructor(url: string) {
    // Short timeouts: the mailer holds the claimed rows while it talks to the server.
    this.transporter = nodemailer.createTransport({ url, connectionTimeout: 10_000, greetingTimeout: 10_000, socketTimeout: 30_000 });
  }

  async deliver(mail: OutgoingMail): Promise<undefined> {
    await this.transporter.sendMail(message(mail));
    return undefined;
  }

  async close(): Promise<void> {
    this.transporter.close();
  }
}

/** Development: each message, as nodemailer would send it, becomes `<timestamp>-<id>.eml` in `dir`. */
export class FileTransport implements MailTransport {
  readonly kind = 'file';
  private readonly transporter = nodemailer.createTransport({ streamTransport: true, buffer: true, newline: 'windows' });

  constructor(private readonly dir: string) {}

  async deliver(mail: OutgoingMail): Promise<string> {
    const built = await this.transporter.sendMail(message(mail));
    await mkdir(this.dir, { recursive: true });
    const file = path.resolve(this.dir, `${new Date().toISOString().replace(/[:.]/g, '-')}-${mail.id}.eml`);
    await writeFile(file, built.message as Buffer, { flag: 'wx' });
    return file;
  }

  async close(): Promise<void> {
    this.transporter.close();
  }
}

export interface MailTransportSettings {
  SMTP_URL?: string | undefined;
  MAIL_OUTBOX_DIR: string;
}

/** SMTP when SMTP_URL is set, else development files in MAIL_OUTBOX_DIR. */
export function mailTransportFor(settings: MailTransportSettings): MailTransport {
  return settings.SMTP_URL ? new SmtpTransport(settings.SMTP_URL) : new FileTransport(settings.MAIL_OUTBOX_DIR);
}
