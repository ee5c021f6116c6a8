// A test client for Server-Sent Events over node:http: records every event and comment as it arrives.
import http from 'node:http';
import { eventually } from './http';

export interface StreamEvent {
  id?: string;
  event?: string;
  data: string;
}

export interface TestEventStream {
  status: number;
  headers: http.IncomingHttpHeaders;
  /** The body of a response that is not a stream (a problem), parsed when JSON. */
  body: unknown;
  events: StreamEvent[];
  comments: string[];
  /** True once the server ended the response or the connection dropped. */
  readonly ended: boolean;
  /** Waits until at least `count` events arrived; returns them all. */
  waitForEvents(count: number, timeoutMs?: number): Promise<StreamEvent[]>;
  waitForEnd(timeoutMs?: number): Promise<void>;
  close(): void;
}

export function openEventStream(baseUrl: string, path: string, options: { token?: string; headers?: Record<string, string> } = {}): Promise<TestEventStream> {
  const headers: Record<string, string> = { accept: 'text/event-stream', ...options.headers };
  if (options.token) headers.authorization = `Bearer ${options.token}`;
  return new Promise((resolve, reject) => {
    const req = http.get(`${baseUrl}${path}`, { headers, agent: false }, (res) => {
      let ended = false;
      const stream: TestEventStream = {
        status: res.statusCode ?? 0,
        headers: res.headers,
        body: undefined,
        events: [],
        comments: [],
        get ended() {
          return ended;
        },
        waitForEvents: (count, timeoutMs = 5000) => eventually(() => stream.events.length >= count && stream.events, timeoutMs),
        waitForEnd: (timeoutMs = 5000) => eventually(() => ended, timeoutMs).then(() => undefined),
        close: () => req.destroy(),
      };
      const markEnded = () => {
        ended = true;
      };
      res.on('end', markEnded);
      res.on('close', markEnded);
      res.on('error', markEnded);
      if (!String(res.headers['content-type'] ?? '').startsWith('text/event-stream')) {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          try {
            stream.body = JSON.parse(text);
          } catch {
            stream.body = text;
          }
          resolve(stream);
        });
        return;
      }
      let buffered = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        buffered += chunk;
        let end: number;
        while ((end = buffered.indexOf('\n\n')) >= 0) {
          const block = buffered.slice(0, end);
          buffered = buffered.slice(end + 2);
          const event: StreamEvent = { data: '' };
          let hasData = false;
          for (const line of block.split('\n')) {
            if (line.startsWith(':')) stream.comments.push(line.slice(1).trim());
            else if (line.startsWith('id: ')) event.id = line.slice(4);
            else if (line.startsWith('event: ')) event.event = line.slice(7);
            else if (line.startsWith('data: ')) {
              event.data += (hasData ? '\n' : '') + line.slice(6);
              hasData = true;
            }
          }
          if (hasData) stream.events.push(event);
        }
      });
      resolve(stream);
    });
    req.on('error', reject);
  });
}
