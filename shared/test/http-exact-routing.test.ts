// The HTTP base under hostile request lines: one spelling per path, every unknown method a 405 with
// Allow, bodies read once for everyone, readiness without detail on a public edge, slow clients cut off.
import net from 'node:net';
import { z } from 'zod';
import { ApiRoutes, createApp, createLogger, decodeJsonBody, isCanonicalPath, listen, type RunningServer } from '@taskflow/shared';
import { request, startTestServer } from '@taskflow/shared/testing';
import http from 'node:http';

/** One request with the path sent byte for byte (fetch would normalise it). */
function sendRaw(base: string, method: string, path: string): Promise<{ status: number; headers: http.IncomingHttpHeaders; body: any }> {
  const url = new URL(base);
  return new Promise((resolve, reject) => {
    const req = http.request({ host: url.hostname, port: url.port, method, path, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body: text ? JSON.parse(text) : undefined });
      });
    });
    req.on('error', reject);
    req.end();
  });
}

const UNUSUAL_METHODS = ['PROPFIND', 'PURGE', 'LOCK', 'COPY', 'MKCOL', 'UNLOCK', 'SEARCH', 'REPORT', 'TRACE', 'LINK'];

describe('HTTP base: exact routing', () => {
  let server: RunningServer;
  let url: string;
  let readyFails = false;

  beforeAll(async () => {
    const routes = new ApiRoutes();
    const thing = { summary: 's', tags: ['t'], auth: false, responses: { 200: { description: 'ok' } } };
    routes.add({ ...thing, method: 'post', path: '/api/v1/auth/login', body: z.object({ email: z.string() }) }, async (ctx, { body }) => {
      ctx.body = { email: body.email };
    });
    routes.add({ ...thing, method: 'get', path: '/api/v1/tasks' }, async (ctx) => {
      ctx.body = { tasks: [] };
    });
    routes.add({ ...thing, method: 'get', path: '/api/v1/tasks/:id', params: z.object({ id: z.string() }) }, async (ctx, { params }) => {
      ctx.body = { id: params.id };
    });
    const app = createApp({
      service: 'test',
      logger: createLogger('test', 'silent'),
      routes: [routes],
      publicEdge: true,
      readiness: {
        upstream: async () => {
          if (readyFails) throw new Error('connect ECONNREFUSED 10.0.0.7:4002');
        },
      },
    });
    server = await startTestServer(app);
    url = server.url;
  });
  afterAll(() => server.close());

  it('matches paths case-sensitively: /api/v1/Tasks/ and /api/v1/auth/Login/ are 404', async () => {
    expect((await sendRaw(url, 'GET', '/api/v1/tasks/')).status).toBe(200);
    for (const [method, path] of [['GET', '/api/v1/Tasks/'], ['POST', '/api/v1/auth/Login/'], ['GET', '/HEALTHZ'], ['GET', '/API/v1/tasks']]) {
      const res = await sendRaw(url, method!, path!);
      expect({ path, status: res.status, code: res.body?.code }).toEqual({ path, status: 404, code: 'not_found' });
    }
  });

  it('answers 404 for every second spelling of a path: double slashes, encoded letters or slashes, dot segments', async () => {
    const spellings = [
      '/api/v1/auth/%6Cogin/', '/api/v1/auth/%6cogin', '/api/v1//tasks/', '//api/v1/tasks', '/api/v1/tasks//', '/api/v1/./tasks/',
      '/api/v1/x/../tasks/', '/api/v1/tasks/%2E%2E/', '/api/v1/%74asks/', '/api/v1/tasks/a%2Fb/', '/api/v1/tasks/a%5Cb/', '/api/v1/tasks\\',
      '/api/v1/tasks/%zz/',
    ];
    for (const path of spellings) {
      const res = await sendRaw(url, 'GET', path);
      expect({ path, status: res.status }).toEqual({ path, status: 404 });
    }
    // A percent-encoding with no plain spelling is still one segment.
    expect((await sendRaw(url, 'GET', '/api/v1/tasks/caf%C3%A9/')).body).toEqual({ id: 'café' });
  });

  it('classifies spellings with one rule', () => {
    expect(['/', '/a', '/a/', '/a/b:c@d/', '/a/%C3%A9', '/a/%25'].map(isCanonicalPath)).toEqual([true, true, true, true, true, true]);
    expect(['', 'a', '//', '/a//', '/a/./b', '/..', '/a/%2e', '/a/%41', '/a/%7e', '/a/%2f', '/a b', '/a/%'].map(isCanonicalPath)).toEqual(
      [false, false, false, false, false, false, false, false, false, false, false, false],
    );
  });

  it.each(UNUSUAL_METHODS)('answers %s on a routed path with a JSON 405 carrying Allow', async (method) => {
    for (const [path, allow] of [['/api/v1/tasks/', 'HEAD, GET'], ['/api/v1/auth/login/', 'POST'], ['/healthz', 'HEAD, GET']]) {
      const res = await sendRaw(url, method, path!);
      expect({ path, status: res.status, code: res.body?.code, type: res.headers['content-type'] }).toEqual({
        path,
        status: 405,
        code: 'method_not_allowed',
        type: expect.stringMatching(/^application\/problem\+json/),
      });
      expect(res.headers.allow?.split(', ').sort()).toEqual(allow!.split(', ').sort());
    }
    expect((await sendRaw(url, method, '/api/v1/nothing/')).status).toBe(404);
  });

  it('gives every 405 an Allow header, and answers OPTIONS with it', async () => {
    const wrong = await sendRaw(url, 'DELETE', '/api/v1/tasks/');
    expect(wrong.status).toBe(405);
    expect(wrong.headers.allow).toBe('HEAD, GET');
    const options = await sendRaw(url, 'OPTIONS', '/api/v1/auth/login/');
    expect(options.status).toBe(204);
    expect(options.headers.allow).toBe('POST');
  });

  it('reads a body that starts with a UTF-8 BOM like any other, with one exported decoder', async () => {
    const bom = Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from('{"email":"a@b.c"}')]);
    expect(decodeJsonBody(bom)).toEqual({ email: 'a@b.c' });
    expect(decodeJsonBody(Buffer.from('  '))).toBeUndefined();
    expect(() => decodeJsonBody(Buffer.from('{"email":"\\ud800"}'))).toThrow(expect.objectContaining({ status: 400, code: 'malformed_json' }));
    const res = await request(url, 'POST', '/api/v1/auth/login/', { raw: bom, headers: { 'content-type': 'application/json' } });
    expect(res.body).toEqual({ email: 'a@b.c' });
  });

  it('on a public edge, reports each readiness check only as ok or unavailable, and serves no /metrics', async () => {
    readyFails = true;
    const down = await request(url, 'GET', '/readyz');
    readyFails = false;
    expect(down.status).toBe(503);
    expect(down.body.checks).toEqual({ upstream: 'unavailable' });
    expect(JSON.stringify(down.body)).not.toContain('10.0.0.7');
    expect((await request(url, 'GET', '/readyz')).body.checks).toEqual({ upstream: 'ok' });
    expect((await request(url, 'GET', '/metrics')).status).toBe(404);
  });
});

describe('HTTP server: slow clients', () => {
  it('closes a connection whose headers have not all arrived within the request timeout', async () => {
    const app = createApp({ service: 'slow', logger: createLogger('slow', 'silent') });
    const server = await listen(app, 0, '127.0.0.1', { requestTimeoutMs: 400 });
    try {
      const socket = net.connect(server.port, '127.0.0.1');
      const started = Date.now();
      let received = '';
      socket.on('data', (chunk: Buffer) => (received += chunk.toString('latin1')));
      socket.write('GET /healthz HTTP/1.1\r\nHost: x\r\n');
      await new Promise((resolve) => socket.on('close', resolve));
      // The bound is the timeout plus one check interval (at most a quarter of it), with slack for a busy machine.
      expect(Date.now() - started).toBeLessThan(3000);
      expect(received).toMatch(/^HTTP\/1\.1 408/);
    } finally {
      await server.close(100);
    }
  });
});
