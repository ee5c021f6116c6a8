// Reads the development mail directory (the .eml files the FileTransport writes), for tests.
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { eventually } from './http';

export interface DevMail {
  file: string;
  /** The raw message as written. */
  raw: string;
  /** Header name (lower case) -> values, unfolded. */
  headers: Map<string, string[]>;
  to: string;
  subject: string;
  /** The body, quoted-printable decoded. */
  text: string;
}

/** Quoted-printable soft line breaks and escapes, as nodemailer encodes long or non-ASCII lines. */
export function decodeQuotedPrintable(text: string): string {
  const bytes = text.replace(/=\r?\n/g, '').replace(/=([0-9A-F]{2})/gi, (_, hex: string) => String.fromCharCode(parseInt(hex, 16)));
  return Buffer.from(bytes, 'latin1').toString('utf8');
}

export function parseMail(file: string, raw: string): DevMail {
  const split = raw.indexOf('\r\n\r\n');
  const head = raw.slice(0, split).replace(/\r\n[ \t]+/g, ' ');
  const headers = new Map<string, string[]>();
  for (const line of head.split('\r\n')) {
    const colon = line.indexOf(':');
    const name = line.slice(0, colon).trim().toLowerCase();
    headers.set(name, [...(headers.get(name) ?? []), line.slice(colon + 1).trim()]);
  }
  const body = raw.slice(split + 4);
  const qp = /quoted-printable/i.test(headers.get('content-transfer-encoding')?.[0] ?? '');
  return { file, raw, headers, to: headers.get('to')?.[0] ?? '', subject: headers.get('subject')?.[0] ?? '', text: qp ? decodeQuotedPrintable(body) : body };
}

export async function readDevMail(dir: string): Promise<DevMail[]> {
  const files = (await readdir(dir).catch(() => [] as string[])).filter((f) => f.endsWith('.eml')).sort();
  return Promise.all(files.map(async (f) => parseMail(f, await readFile(path.join(dir, f), 'utf8'))));
}

/** Waits for a message to `to` (any case) whose body matches `pattern`; returns the newest such message and its match. */
export async function waitForMailTo(dir: string, to: string, pattern: RegExp, timeoutMs = 10_000): Promise<{ mail: DevMail; match: RegExpExecArray }> {
  return eventually(async () => {
    for (const mail of (await readDevMail(dir)).reverse()) {
      const match = mail.to.toLowerCase() === to.toLowerCase() ? pattern.exec(mail.text) : null;
      if (match) return { mail, match };
    }
    return undefined;
  }, timeoutMs);
}
