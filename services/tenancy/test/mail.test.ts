// Invite mail through the shared mail mechanism: written in the invite's transaction, sent after commit;
// files in development, SMTP otherwise, retried with backoff while the server fails, body cleared once
// sent; the organization's name only ever in the body.
import net from 'node:net';
import { decodeQuotedPrintable, eventually, readDevMail } from '@taskflow/shared/testing';
import { type Harness, startHarness } from './support';

const tokenIn = (text: string) => /\/invites\/accept\/([A-Za-z0-9_-]{43})\//.exec(text)?.[1];

interface SmtpSink {
  messages: string[];
  close(): Promise<void>;
}

/** Just enough SMTP to accept messages: greeting, EHLO, MAIL, RCPT, DATA, QUIT. */
async function startSmtpSink(port: number): Promise<SmtpSink> {
  const messages: string[] = [];
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.setEncoding('utf8');
    let buffer = '';
    let data: string[] | undefined;
    socket.write('220 sink ESMTP\r\n');
    socket.on('data', (chunk: string) => {
      buffer += chunk;
      for (let end = buffer.indexOf('\r\n'); end >= 0; end = buffer.indexOf('\r\n')) {
        const line = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        if (data) {
          if (line === '.') {
            messages.push(data.join('\n'));
            data = undefined;
            socket.write('250 queued\r\n');
          } else data.push(line.startsWith('..') ? line.slice(1) : line);
          continue;
        }
        const verb = line.slice(0, 4).toUpperCase();
        if (verb === 'EHLO' || verb === 'HELO') socket.write('250 sink\r\n');
        else if (verb === 'DATA') {
          data = [];
          socket.write('354 end with <CRLF>.<CRLF>\r\n');
        } else if (verb === 'QUIT') socket.end('221 bye\r\n');
        else socket.write('250 OK\r\n');
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  return {
    messages,
    close: () =>
      new Promise((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}

async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

describe('invite mail in development (files)', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness();
  });
  afterAll(async () => {
    await h.close();
  });

  it('writes the invite to the mail outbox directory with a working accept link, then forgets the body', async () => {
    const owner = h.user();
    const invitee = h.user('file.invitee@example.com');
    const org = await h.createOrg(owner, 'Mail Co');
    const sent = await h.invite(owner, org.id, invitee.email);
    expect(sent.status).toBe(201);
    const [mail] = await eventually(async () => {
      const all = await readDevMail(h.mailDir);
      return all.length === 1 && all;
    });
    expect(mail!.to).toBe(invitee.email);
    expect(mail!.subject).toBe('You are invited to join an organization on TaskFlow');
    expect(mail!.text).toContain('the organization "Mail Co" on TaskFlow as member');
    const token = tokenIn(mail!.text);
    expect(token).toBe(sent.body.token);
    await eventually(async () => {
      const row = await h.db('mail_outbox').where({ to_address: invitee.email }).first();
      return row.sent_at !== null && row.text_body === null;
    });
    const accepted = await h.call('POST', `/api/v1/invites/accept/${token}/`, invitee);
    expect(accepted.status).toBe(200);
  });

  it('keeps an organization name with CR/LF out of every header (no injected Bcc), as one plain line of the body', async () => {
    const owner = h.user();
    const invitee = h.user('crlf.invitee@example.com');
    const org = await h.createOrg(owner, 'Acme');
    // Whatever the API lets through today or tomorrow, the mail must not depend on it: set the name directly.
    await h.db('organizations').where({ id: org.id }).update({ name: 'Acme\r\nBcc: x@evil.example' });
    expect((await h.invite(owner, org.id, invitee.email)).status).toBe(201);
    const mail = await eventually(async () => (await readDevMail(h.mailDir)).find((m) => m.to === invitee.email));
    const head = mail.raw.slice(0, mail.raw.indexOf('\r\n\r\n'));
    expect(head).not.toMatch(/(^|\r\n)bcc:/i);
    expect(head).not.toContain('evil.example');
    expect(mail.headers.has('bcc')).toBe(false);
    expect(mail.text).toContain('the organization "Acme Bcc: x@evil.example" on TaskFlow');
  });
});

describe('invite mail over SMTP', () => {
  let h: Harness;
  let port: number;
  let sink: SmtpSink | undefined;
  beforeAll(async () => {
    port = await freePort();
    h = await startHarness({ smtpUrl: `smtp://127.0.0.1:${port}`, mailRetryBaseMs: 50 });
  });
  afterAll(async () => {
    await h.close();
    await sink?.close();
  });

  it('keeps the invite when the SMTP server is down, retries with backoff, and delivers once it is back', async () => {
    const owner = h.user();
    const invitee = h.user('smtp.invitee@example.com');
    const org = await h.createOrg(owner, 'Smtp Co');
    const sent = await h.invite(owner, org.id, invitee.email);
    expect(sent.status).toBe(201);
    const row = () => h.db('mail_outbox').where({ to_address: invitee.email }).first();
    const failing = await eventually(async () => {
      const r = await row();
      return r.attempts >= 2 && r;
    });
    expect(failing.sent_at).toBeNull();
    expect(failing.last_error).toMatch(/ECONNREFUSED|connect/i);
    expect(failing.next_attempt_at.getTime()).toBeGreaterThan(failing.created_at.getTime());

    sink = await startSmtpSink(port);
    await eventually(async () => (await row()).sent_at !== null, 10_000);
    expect((await row()).text_body).toBeNull();
    expect(sink.messages).toHaveLength(1);
    const message = decodeQuotedPrintable(sink.messages[0]!);
    expect(message).toContain('smtp.invitee@example.com');
    const token = tokenIn(message);
    expect(token).toBe(sent.body.token);
    expect((await h.call('POST', `/api/v1/invites/accept/${token}/`, invitee)).status).toBe(200);
  });
});
