// One attempt: POST the body to the endpoint, connecting only to addresses the UrlGuard checked, never
// following a redirect, giving up after the timeout, and reading at most 1 KiB of the answer.
import http from 'node:http';
import https from 'node:https';
import type { UrlGuard } from '../domain/url-safety';

export const MAX_RESPONSE_BYTES = 1024;

export interface PostResult {
  statusCode: number | null;
  /** The reason it failed (for a non-2xx answer, its status and the start of its body); null on success. */
  error: string | null;
  durationMs: number;
}

export interface PostOptions {
  timeoutMs: number;
  guard: UrlGuard;
}

// Keep-alive: a busy receiver is not paying a TCP (and TLS) handshake per delivery. Sockets are opened
// through the guard's lookup, so a reused socket leads to an address that was checked when it opened.
const agents = {
  'http:': new http.Agent({ keepAlive: true, maxSockets: 256 }),
  'https:': new https.Agent({ keepAlive: true, maxSockets: 256 }),
};

const printable = (bytes: Buffer) => bytes.toString('utf8').replace(/[\u0000-\u0008\u000b-\u001f\u007f]/g, ' ').trim();

export async function postWebhook(rawUrl: string, headers: Record<string, string>, body: string, options: PostOptions): Promise<PostResult> {
  const started = Date.now();
  const done = (statusCode: number | null, error: string | null): PostResult => ({ statusCode, error, durationMs: Date.now() - started });
  let url: URL;
  try {
    url = new URL(rawUrl);
    if (url.protocol !== 'https:' && !(url.protocol === 'http:' && options.guard.allowPrivateNetworks)) throw new Error(`scheme ${url.protocol} refused`);
    // A literal address never goes through `lookup`: check it here.
    await options.guard.publicAddresses(url.hostname);
  } catch (err) {
    return done(null, `Refused: ${(err as Error).message}`);
  }
  const transport = url.protocol === 'https:' ? https : http;
  const payload = Buffer.from(body, 'utf8');
  return new Promise<PostResult>((resolve) => {
    let settled = false;
    const finish = (result: PostResult) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      resolve(result);
    };
    const request = transport.request(
      url,
      {
        method: 'POST',
        agent: agents[url.protocol as 'http:' | 'https:'],
        lookup: options.guard.lookup,
        headers: { ...headers, 'content-type': 'application/json', 'content-length': String(payload.length), 'user-agent': 'TaskFlow-Webhooks/1' },
      },
      (response) => {
        const status = response.statusCode ?? 0;
        const chunks: Buffer[] = [];
        let size = 0;
        const conclude = () => {
          const text = printable(Buffer.concat(chunks).subarray(0, MAX_RESPONSE_BYTES));
          if (status >= 200 && status < 300) finish(done(status, null));
          else if (status >= 300 && status < 400) finish(done(status, `HTTP ${status}: redirects are not followed${response.headers.location ? ` (to ${String(response.headers.location).slice(0, 200)})` : ''}`));
          else finish(done(status, `HTTP ${status}${text ? `: ${text}` : ''}`));
        };
        response.on('data', (chunk: Buffer) => {
          if (size < MAX_RESPONSE_BYTES) chunks.push(chunk);
          size += chunk.length;
          if (size >= MAX_RESPONSE_BYTES) {
            // Enough read: the rest is never buffered, and the socket is not reused.
            response.destroy();
            conclude();
          }
        });
        response.on('end', conclude);
        response.on('error', conclude);
        response.on('close', conclude);
      },
    );
    const timer = setTimeout(() => {
      request.destroy(new Error(`no answer within ${options.timeoutMs} ms`));
    }, options.timeoutMs);
    request.on('error', (err) => finish(done(null, err.message.startsWith('no answer') ? err.message : `Connection failed: ${err.message}`)));
    request.end(payload);
  });
}

/** Closes idle keep-alive sockets (on shutdown). */
export function closeIdleSockets(): void {
  agents['http:'].destroy();
  agents['https:'].destroy();
}
