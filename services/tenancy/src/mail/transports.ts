// Where mail goes: an SMTP server (nodemailer), or files in a directory during development.
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

export class SmtpTransport implements MailTransport {
  readonly kind = 'smtp';
  private readonly transporter: Transporter;

  constructor(url: string) {
    // Short timeouts: the mailer holds the claimed rows while it talks to the server.
    this.transporter = nodemailer.createTransport({ url, connectionTimeout: 10_000, greetingTimeout: 10_000, socketTimeout: 30_000 });
  }

  async deliver(mail: OutgoingMail): Promise<undefined> {
    await this.transporter.sendMail({ from: mail.from, to: mail.to, subject: mail.subject, text: mail.text, messageId: `<${mail.id}@taskflow>` });
    return undefined;
  }

  async close(): Promise<void> {
    this.transporter.close();
  }
}

/** Development: each message becomes `<timestamp>-<id>.eml` in `dir`, readable with any mail client or editor. */
export class FileTransport implements MailTransport {
  readonly kind = 'file';

  constructor(private readonly dir: string) {}

  async deliver(mail: OutgoingMail): Promise<string> {
    await mkdir(this.dir, { recursive: true });
    const now = new Date();
    const file = path.resolve(this.dir, `${now.toISOString().replace(/[:.]/g, '-')}-${mail.id}.eml`);
    const message = [
      `Message-ID: <${mail.id}@taskflow>`,
      `Date: ${now.toUTCString()}`,
      `From: ${mail.from}`,
      `To: ${mail.to}`,
      `Subject: ${mail.subject}`,
      'MIME-Version: 1.0',
      'Content-Type: text/plain; charset=utf-8',
      'Content-Transfer-Encoding: 8bit',
      '',
      mail.text,
      '',
    ].join('\r\n');
    await writeFile(file, message, { encoding: 'utf8', flag: 'wx' });
    return file;
  }

  async close(): Promise<void> {}
}
