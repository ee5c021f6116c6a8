import { z } from 'zod';
import { ApiRoutes, createApp, createLogger } from '@taskflow/shared';
import { request, startTestServer } from '@taskflow/shared/testing';

describe('validation errors, worded once for every service', () => {
  let url: string;
  let close: () => Promise<void>;

  beforeAll(async () => {
    const routes = new ApiRoutes();
    routes.add(
      {
        method: 'post',
        path: '/things',
        summary: 'Create a thing',
        tags: ['test'],
        auth: false,
        body: z.strictObject({ name: z.string().min(1).max(5), kind: z.enum(['a', 'b']), id: z.guid().optional(), count: z.number().int().optional() }),
        responses: { 201: { description: 'created' } },
      },
      async (ctx) => {
        ctx.status = 201;
        ctx.body = { ok: true };
      },
    );
    routes.add(
      {
        method: 'get',
        path: '/things',
        summary: 'List things',
        tags: ['test'],
        auth: false,
        query: z.object({ status: z.array(z.enum(['todo', 'done'])).optional(), limit: z.coerce.number().int().optional() }),
        responses: { 200: { description: 'a page' } },
      },
      async (ctx, { query }) => {
        ctx.body = query;
      },
    );
    routes.add({ method: 'get', path: '/things/one', summary: 'One thing', tags: ['test'], auth: false, responses: { 200: { description: 'one' } } }, async (ctx) => {
      ctx.body = { one: true };
    });
    const server = await startTestServer(createApp({ service: 'test', logger: createLogger('test', 'silent'), routes: [routes] }));
    url = server.url;
    close = () => server.close();
  });
  afterAll(() => close());

  it('says a missing field is required and a wrong choice names the choices, in sentences', async () => {
    const res = await request(url, 'POST', '/things', { body: { kind: 'c' } });
    expect(res.status).toBe(400);
    expect(res.body.errors).toEqual({
      name: ['This field is required.'],
      kind: ['"c" is not a valid choice; one of: a, b.'],
    });
  });

  it('words lengths, types, nulls and formats the same way', async () => {
    const res = await request(url, 'POST', '/things', { body: { name: '', kind: null, id: 'nope', count: 'x' } });
    expect(res.body.errors).toEqual({
      name: ['This field may not be blank.'],
      kind: ['This field may not be null.'],
      id: ['Must be a valid UUID.'],
      count: ['Must be a number.'],
    });
    const long = await request(url, 'POST', '/things', { body: { name: 'toolong', kind: 'a' } });
    expect(long.body.errors).toEqual({ name: ['Ensure this field has no more than 5 characters.'] });
  });

  it('reports each unknown body field under its own name, not as non_field_errors', async () => {
    const res = await request(url, 'POST', '/things', { body: { name: 'x', kind: 'a', colour: 'red', size: 3 } });
    expect(res.status).toBe(400);
    expect(res.body.errors).toEqual({ colour: ['Unknown field.'], size: ['Unknown field.'] });
  });

  it('refuses unknown query parameters by name, even ones named like object internals', async () => {
    const res = await request(url, 'GET', '/things?limit=2&foo=bar&__proto__=x&constructor=y');
    expect(res.status).toBe(400);
    const unknown = ['Unknown query parameter.'];
    expect(Object.entries(res.body.errors)).toEqual([['foo', unknown], ['__proto__', unknown], ['constructor', unknown]]);
    const none = await request(url, 'GET', '/things/one?debug=1');
    expect(none.status).toBe(400);
    expect(none.body.errors).toEqual({ debug: ['Unknown query parameter.'] });
    expect((await request(url, 'GET', '/things?limit=2')).status).toBe(200);
  });

  it('names a repeated query parameter once, without list positions', async () => {
    const res = await request(url, 'GET', '/things?status=todo&status=nope&status=never');
    expect(res.status).toBe(400);
    expect(Object.keys(res.body.errors)).toEqual(['status']);
    expect(res.body.errors.status).toEqual(['"nope" is not a valid choice; one of: todo, done.', '"never" is not a valid choice; one of: todo, done.']);
  });
});
