import { z } from 'zod';
import { ApiRoutes, cursor, openApiDocument, pageQuery, pageSchema } from '@taskflow/shared';

type Doc = Record<string, any>;

const widget = z.object({ id: z.uuid(), name: z.string() }).meta({ id: 'Widget', examples: [{ id: '3f2b8c1e-6d4a-4b7e-9a1c-2e5f7d8b9c0a', name: 'Cog' }] });
const widgetPage = pageSchema(widget).meta({ id: 'WidgetPage' });
const params = z.object({ id: z.uuid() });
const body = z.strictObject({ name: z.string().min(1) });
const noop = async () => undefined;

function widgetRoutes(): ApiRoutes {
  const routes = new ApiRoutes({ authenticate: noop });
  routes.add({ method: 'get', path: '/widgets', summary: 'List', tags: ['w'], query: pageQuery(cursor(z.tuple([z.string(), z.uuid()]))), responses: { 200: { description: 'A page', schema: widgetPage } } }, noop);
  routes.add({ method: 'post', path: '/widgets', summary: 'Create', tags: ['w'], auth: false, body, responses: { 201: { description: 'New', schema: widget } } }, noop);
  routes.add(
    { method: 'patch', path: '/widgets/:id', summary: 'Change', tags: ['w'], params, body, responses: { 200: { description: 'Changed', schema: widget }, 412: { description: 'Stale' } } },
    noop,
  );
  routes.add({ method: 'delete', path: '/widgets/:id', summary: 'Delete', tags: ['w'], params, responses: { 204: { description: 'Gone' }, 403: { description: 'Owners only' }, 412: { description: 'Stale' } } }, noop);
  return routes;
}

describe('the OpenAPI document of a service', () => {
  const doc: Doc = openApiDocument('Widgets', '1.0.0', widgetRoutes().specs);

  it('writes each named schema once as a component and references it from every response', () => {
    expect(doc.paths['/widgets/'].post.responses['201'].content['application/json'].schema).toEqual({ $ref: '#/components/schemas/Widget' });
    expect(doc.paths['/widgets/{id}/'].patch.responses['200'].content['application/json'].schema).toEqual({ $ref: '#/components/schemas/Widget' });
    expect(doc.paths['/widgets/'].get.responses['200'].content['application/json'].schema).toEqual({ $ref: '#/components/schemas/WidgetPage' });
    expect(doc.components.schemas.WidgetPage.properties.results.items).toEqual({ $ref: '#/components/schemas/Widget' });
    expect(doc.components.schemas.Widget).toMatchObject({ type: 'object', required: ['id', 'name'], examples: [{ name: 'Cog' }] });
    expect(Object.keys(doc.components.schemas).sort()).toEqual(['Problem', 'Widget', 'WidgetPage']);
    expect(JSON.stringify(doc)).not.toContain('$defs');
  });

  it('documents If-Match, and its 400 invalid_if_match beside the validation example, on every operation that can answer 412', () => {
    const patch = doc.paths['/widgets/{id}/'].patch;
    expect(patch.parameters).toContainEqual({ $ref: '#/components/parameters/IfMatch' });
    expect(doc.components.parameters.IfMatch).toMatchObject({ name: 'If-Match', in: 'header' });
    const examples = patch.responses['400'].content['application/problem+json'].examples;
    expect(examples.validation_error.value).toMatchObject({ status: 400, code: 'validation_error', errors: { name: expect.any(Array) } });
    expect(examples.invalid_if_match).toEqual({ $ref: '#/components/examples/invalid_if_match' });
    expect(doc.components.examples.invalid_if_match.value).toMatchObject({ status: 400, code: 'invalid_if_match' });
    expect(doc.paths['/widgets/{id}/'].delete.responses['400']).toEqual({ $ref: '#/components/responses/InvalidIfMatch' });
    expect(doc.paths['/widgets/'].post.parameters).toBeUndefined();
    expect(doc.paths['/widgets/'].get.parameters).not.toContainEqual({ $ref: '#/components/parameters/IfMatch' });
  });

  it('shares the typical problem responses, with the operation’s own description beside the reference', () => {
    const remove = doc.paths['/widgets/{id}/'].delete.responses;
    expect(remove['403']).toEqual({ $ref: '#/components/responses/PermissionDenied', description: 'Owners only' });
    expect(remove['404']).toEqual({ $ref: '#/components/responses/NotFound' });
    expect(remove['401']).toEqual({ $ref: '#/components/responses/NotAuthenticated' });
    expect(doc.components.responses.PermissionDenied.content['application/problem+json'].examples).toEqual({
      permission_denied: { $ref: '#/components/examples/permission_denied' },
    });
    expect(doc.components.examples.permission_denied.value).toMatchObject({ status: 403, code: 'permission_denied' });
  });

  it('references the page parameters every list shares, and needs a token unless an operation says otherwise', () => {
    expect(doc.paths['/widgets/'].get.parameters).toEqual([{ $ref: '#/components/parameters/Limit' }, { $ref: '#/components/parameters/Cursor' }]);
    expect(doc.components.parameters.Limit).toMatchObject({ name: 'limit', in: 'query', schema: { type: 'integer', minimum: 1 } });
    expect(doc.security).toEqual([{ bearerAuth: [] }]);
    expect(doc.paths['/widgets/'].post.security).toEqual([]);
    expect(doc.paths['/widgets/'].get.security).toBeUndefined();
  });

  it('refuses a response body without a name when the route is declared', () => {
    const routes = new ApiRoutes({ authenticate: noop });
    expect(() => routes.add({ method: 'get', path: '/anonymous', summary: 'x', tags: ['w'], responses: { 200: { description: 'x', schema: z.object({ a: z.string() }) } } }, noop)).toThrow(
      /get \/anonymous: the 200 body needs a name/,
    );
  });

  it('refuses to build a document in which two different schemas share a name', () => {
    const routes = widgetRoutes();
    const impostor = z.object({ id: z.number() }).meta({ id: 'Widget' });
    routes.add({ method: 'get', path: '/impostor', summary: 'x', tags: ['w'], responses: { 200: { description: 'x', schema: impostor } } }, noop);
    expect(() => openApiDocument('Widgets', '1.0.0', routes.specs)).toThrow('Two different schemas are named Widget');
  });
});
