import { z } from 'zod';
import { ApiRoutes, createApp, createLogger, type RunningServer } from '@taskflow/shared';
import { request, startTestServer } from '@taskflow/shared/testing';

describe('HTTP base', () => {
  let server: RunningServer;
  let url: string;
  let readyFails = false;

  beforeAll(async () => {
    const routes = new ApiRoutes();
    routes.add(
      {
        method: 'post',
        path: '/things',
        summary: 'Create a thing',
        tags: ['things'],
        auth: false,
        body: z.object({ name: z.string().min(1).max(5) }),
        responses: { 201: { description: 'created' } },
      },
      async (ctx, { body }) => {
        ctx.status = 201;
        ctx.body = { name: body.name };
      },
    );
    routes.add(
      {
        method: 'get',
        path: '/things/:id',
        summary: 'Get a thing',
        tags: ['things'],
        auth: false,
        params: z.object({ id: z.uuid() }),
        responses: { 200: { description: 'ok' } },
      },
      async (ctx, { params }) => {
        ctx.body = { id: params.id };
      },
    );
    routes.add(
      { method: 'get', path: '/boom', summary: 'Fails', tags: ['x'], auth: false, responses: { 200: { description: 'never' } } },
      async () => {
        throw new Error('secret internal detail');
      },
    );
    const app = createApp({
      service: 'test',
      logger: createLogger('test', 'silent'),
      routes: [routes],
      readiness: {
        db: async () => {
          if (readyFails) throw new Error('down');
        },
      },
    });
    server = await startTestServer(app);
    url = server.url;
  });
  afterAll(() => server.close());

  it('validates bodies and answers field errors as problem+json', async () => {
    const res = await request(url, 'POST', '/things', { body: { name: '' } });
    expect(res.status).toBe(400);
    expect(res.headers.get('content-type')).toMatch(/application\/problem\+json/);
    expect(res.body).toMatchObject({ status: 400, code: 'validation_error', errors: { name: [expect.any(String)] } });
  });

  it('refuses a body field the schema does not declare, naming it, though the route wrote a plain z.object', async () => {
    const res = await request(url, 'POST', '/things', { body: { name: 'ok', email_verified: true } });
    expect(res.status).toBe(400);
    expect(res.body.code).toBe('validation_error');
    expect(res.body.errors).toEqual({ email_verified: ['Unknown field.'] });
  });

  it('accepts paths with and without the trailing slash', async () => {
    expect((await request(url, 'POST', '/things', { body: { name: 'a' } })).status).toBe(201);
    expect((await request(url, 'POST', '/things/', { body: { name: 'a' } })).status).toBe(201);
  });

  it('answers 400 for malformed JSON and for a JSON body that is not an object', async () => {
    const malformed = await request(url, 'POST', '/things', { raw: '{"name":', headers: { 'content-type': 'application/json' } });
    expect(malformed.status).toBe(400);
    expect(malformed.body.code).toBe('malformed_json');
    const array = await request(url, 'POST', '/things', { body: ['x'] });
    expect(array.status).toBe(400);
  });

  it('answers 415 for a non-JSON body and 413 for one over 1 MiB', async () => {
    const form = await request(url, 'POST', '/things', { raw: 'name=a', headers: { 'content-type': 'application/x-www-form-urlencoded' } });
    expect(form.status).toBe(415);
    const huge = await request(url, 'POST', '/things', { body: { name: 'x'.repeat(1024 * 1024 + 10) } });
    expect(huge.status).toBe(413);
    expect(huge.body.code).toBe('payload_too_large');
  });

  it('answers JSON 404 for unknown routes and malformed ids, JSON 405 for wrong methods', async () => {
    const unknown = await request(url, 'GET', '/nope');
    expect(unknown.status).toBe(404);
    expect(unknown.body.code).toBe('not_found');
    expect((await request(url, 'GET', '/things/not-a-uuid')).status).toBe(404);
    const wrong = await request(url, 'DELETE', '/things');
    expect(wrong.status).toBe(405);
    expect(wrong.body.code).toBe('method_not_allowed');
  });

  it('hides unexpected errors behind a generic 500', async () => {
    const res = await request(url, 'GET', '/boom');
    expect(res.status).toBe(500);
    expect(JSON.stringify(res.body)).not.toContain('secret');
  });

  it('echoes a sane X-Request-Id and replaces an insane one', async () => {
    const sane = await request(url, 'GET', '/healthz', { headers: { 'x-request-id': 'abc-123' } });
    expect(sane.headers.get('x-request-id')).toBe('abc-123');
    const insane = await request(url, 'GET', '/healthz', { headers: { 'x-request-id': 'a b<script>' } });
    expect(insane.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('reports readiness from the checks it was given', async () => {
    expect((await request(url, 'GET', '/readyz')).status).toBe(200);
    readyFails = true;
    const down = await request(url, 'GET', '/readyz');
    readyFails = false;
    expect(down.status).toBe(503);
    expect(down.body.checks.db).toBe('down');
  });

  it('serves metrics by route template and an OpenAPI document from the route schemas', async () => {
    const metrics = await request(url, 'GET', '/metrics');
    expect(metrics.body).toContain('http_requests_total{method="POST",route="/things",status="201"');
    const doc = await request(url, 'GET', '/openapi.json');
    expect(doc.body.openapi).toBe('3.1.0');
    expect(doc.body.paths['/things/'].post.requestBody.content['application/json'].schema.properties.name.maxLength).toBe(5);
    expect(doc.body.paths['/things/{id}/'].get.parameters[0]).toMatchObject({ name: 'id', in: 'path', required: true });
  });
});

describe('HTTP base: input edge cases', () => {
  let server: RunningServer;
  beforeAll(async () => {
    const routes = new ApiRoutes();
    routes.add(
      { method: 'post', path: '/echo', summary: 'Echo', tags: ['x'], auth: false, body: z.object({ name: z.string() }), responses: { 200: { description: 'ok' } } },
      async (ctx, { body }) => {
        ctx.body = body;
      },
    );
    const { cursor, pageQuery } = await import('@taskflow/shared');
    routes.add(
      { method: 'get', path: '/page', summary: 'Page', tags: ['x'], auth: false, query: pageQuery(cursor(z.tuple([z.string()]))), responses: { 200: { description: 'ok' } } },
      async (ctx, { query }) => {
        ctx.body = { limit: query.limit };
      },
    );
    server = await startTestServer(createApp({ service: 'edge', logger: createLogger('edge', 'silent'), routes: [routes] }));
  });
  afterAll(() => server.close());

  it('refuses a lone surrogate escaped in JSON, and keeps a real pair', async () => {
    const lone = await request(server.url, 'POST', '/echo', { raw: '{"name":"a \\ud800 b"}', headers: { 'content-type': 'application/json' } });
    expect(lone.status).toBe(400);
    const pair = await request(server.url, 'POST', '/echo', { raw: '{"name":"\\ud83d\\ude00"}', headers: { 'content-type': 'application/json' } });
    expect(pair.status).toBe(200);
    expect(pair.body.name).toBe('😀');
  });

  it('refuses a `__proto__` key anywhere in a body, before any handler sees it', async () => {
    for (const raw of ['{"name":"a","__proto__":{"admin":true}}', '{"name":"a","x":[{"__proto__":1}]}']) {
      const res = await request(server.url, 'POST', '/echo', { raw, headers: { 'content-type': 'application/json' } });
      expect(res.status).toBe(400);
      expect(res.body).toMatchObject({ code: 'malformed_json' });
    }
  });

  it.each([
    ['application/json', 200],
    ['application/json; charset=utf-8', 200],
    ['application/merge-patch+json', 200],
    ['application/+json', 415],
    ['application/json5', 415],
    ['text/json', 415],
  ])('reads content type %p as %p', async (type, status) => {
    const res = await request(server.url, 'POST', '/echo', { raw: '{"name":"a"}', headers: { 'content-type': type } });
    expect(res.status).toBe(status);
  });

  it.each([['', 50], ['?limit=7', 7], ['?limit=1000', 200]])('reads limit from %p as %p', async (query, limit) => {
    expect((await request(server.url, 'GET', `/page${query}`)).body).toEqual({ limit });
  });

  it.each(['0', '-1', 'abc', '1.5', '0x10', ' 5 ', '1e3', 'NaN', 'Infinity'])('refuses limit=%p with 400', async (value) => {
    const res = await request(server.url, 'GET', `/page?limit=${encodeURIComponent(value)}`);
    expect(res.status).toBe(400);
    expect(res.body.errors.limit).toBeDefined();
  });
});
