import http from 'node:http';
import { eventually, request } from '@taskflow/shared/testing';
import type { Context } from 'koa';
import { STREAMED_BODY_BYTES } from '../src/endpoint';
import type { RunningGateway } from '../src/service';
import { startGateway } from './start';
import { createTokenIssuer, type FakeService, identityRoutes, startFakeService } from './support';

/** A JSON document of about `bytes` bytes. */
const bigJson = (bytes: number) => JSON.stringify({ results: Array.from({ length: Math.ceil(bytes / 100) }, (_, i) => ({ id: i, title: 'x'.repeat(80) })) });

/** GET through the gateway with node:http, reporting the first bytes as they arrive and how the response ended. */
function get(url: string, token: string, onFirstBytes?: () => void): Promise<{ status: number; headers: http.IncomingHttpHeaders; body: Buffer; complete: boolean }> {
  return new Promise((resolve, reject) => {
    const req = http.get(url, { headers: { authorization: `Bearer ${token}` } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => {
        if (chunks.length === 0) onFirstBytes?.();
        chunks.push(chunk);
      });
      const done = () => resolve({ status: res.statusCode!, headers: res.headers, body: Buffer.concat(chunks), complete: res.complete });
      res.on('end', done);
      res.on('error', done);
      res.on('close', done);
    });
    req.on('error', reject);
  });
}

describe('gateway: large response bodies', () => {
  const issuer = createTokenIssuer();
  const token = issuer.sign();
  const large = bigJson(STREAMED_BODY_BYTES * 4);
  /** Resolved by the test once the client holds the first bytes of /halves: until then the fake holds back the second half. */
  let clientHasFirstHalf: () => void = () => undefined;
  /** How /halves sent its second half: after the client had the first one, or after waiting 4 s in vain. */
  let secondHalf: 'after the client had the first' | 'after 4 s' | undefined;
  let identity: FakeService;
  let work: FakeService;
  let gateway: RunningGateway;

  beforeAll(async () => {
    identity = await startFakeService('identity', identityRoutes(issuer));
    work = await startFakeService('work', (routes) => {
      const route = (path: string, handler: (ctx: Context) => Promise<void> | void) =>
        routes.add({ method: 'get', path, summary: path, tags: ['tasks'], auth: false, responses: { 200: { description: 'a body' } } }, async (ctx: Context) => handler(ctx));
      route('/api/v1/tasks/large', (ctx) => {
        ctx.set('etag', '"v1"');
        ctx.set('link', '<https://example.test/next>; rel="next"');
        ctx.type = 'application/json';
        ctx.body = large;
      });
      // Half the body, then the rest only once the client has received bytes: a gateway holding
      // the whole body first would never pass anything on.
      route('/api/v1/tasks/halves', async (ctx) => {
        const first = new Promise<void>((resolve) => {
          clientHasFirstHalf = resolve;
        });
        ctx.respond = false;
        ctx.res.writeHead(200, { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(large)) });
        ctx.res.write(large.slice(0, large.length / 2));
        secondHalf = await Promise.race([
          first.then(() => 'after the client had the first' as const),
          new Promise<'after 4 s'>((resolve) => setTimeout(() => resolve('after 4 s'), 4000)),
        ]);
        ctx.res.end(large.slice(large.length / 2));
      });
      // Announces a large body, sends part of it and breaks the connection.
      route('/api/v1/tasks/broken', (ctx) => {
        ctx.respond = false;
        ctx.res.writeHead(200, { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(large)) });
        ctx.res.write(large.slice(0, STREAMED_BODY_BYTES * 2), () => ctx.res.destroy());
      });
      // The same, small: still read whole, so the client gets a clean 503.
      route('/api/v1/tasks/broken-small', (ctx) => {
        ctx.respond = false;
        ctx.res.writeHead(200, { 'content-type': 'application/json', 'content-length': '1000' });
        ctx.res.write('{"results": [', () => ctx.res.destroy());
      });
    });
    gateway = await startGateway({ identityUrl: identity.url, workUrl: work.url });
  });

  afterAll(async () => {
    await gateway.close();
    await Promise.all([identity, work].map((s) => s.close()));
  });

  it('passes a large body through whole, with its status, headers, length and the request id', async () => {
    const res = await get(`${gateway.url}/api/v1/tasks/large/`, token);
    expect(res.status).toBe(200);
    expect(res.complete).toBe(true);
    expect(res.body.toString('utf8')).toBe(large);
    expect(res.headers['content-type']).toMatch(/^application\/json/);
    expect(res.headers['content-length']).toBe(String(Buffer.byteLength(large)));
    expect(res.headers.etag).toBe('"v1"');
    expect(res.headers.link).toBe('<https://example.test/next>; rel="next"');
    expect(res.headers['x-request-id']).toBeDefined();
    // The upstream saw the same request id the client got back.
    const call = work.callsTo('/api/v1/tasks/large/').at(-1);
    expect(call?.headers['x-request-id']).toBe(res.headers['x-request-id']);
  });

  it('passes the first bytes on before the upstream has sent the rest', async () => {
    let received = false;
    const res = await get(`${gateway.url}/api/v1/tasks/halves/`, token, () => {
      received = true;
      clientHasFirstHalf();
    });
    expect(received).toBe(true);
    expect(res.status).toBe(200);
    expect(res.body.toString('utf8')).toBe(large);
    // Streamed, the second half waited for the client; held whole, it came only after the 4 s fallback.
    expect(secondHalf).toBe('after the client had the first');
  }, 15_000);

  it('cuts the client connection when the upstream breaks off a large body (no hang, no truncated success)', async () => {
    const res = await get(`${gateway.url}/api/v1/tasks/broken/`, token);
    expect(res.status).toBe(200);
    expect(res.complete).toBe(false);
    expect(res.body.length).toBeLessThan(Buffer.byteLength(large));
    // The gateway still answers afterwards.
    expect((await request(gateway.url, 'GET', '/api/v1/tasks/large/', { token })).status).toBe(200);
  });

  it('answers 503 as before when a small body breaks off', async () => {
    const res = await request(gateway.url, 'GET', '/api/v1/tasks/broken-small/', { token });
    expect(res.status).toBe(503);
    expect(res.body.code).toBe('service_unavailable');
    await eventually(async () => (await request(gateway.url, 'GET', '/api/v1/tasks/large/', { token })).status === 200);
  });
});
