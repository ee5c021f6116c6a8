import { request } from '@taskflow/shared/testing';
import { z } from 'zod';
import type { RunningGateway } from '../src/service';
import { startGateway } from './start';
import { createTokenIssuer, type FakeService, identityRoutes, startFakeService } from './support';

describe('gateway operations endpoints', () => {
  const issuer = createTokenIssuer();
  let identity: FakeService;
  let tenancy: FakeService;
  let work: FakeService;
  let audit: FakeService;
  let webhooks: FakeService;
  let complete: RunningGateway;
  let partial: { url: string; close(): Promise<void> };

  beforeAll(async () => {
    [identity, tenancy, work, audit, webhooks] = await Promise.all([
      startFakeService('identity', identityRoutes(issuer)),
      startFakeService('tenancy', (routes) =>
        routes.add(
          { method: 'get', path: '/api/v1/organizations', summary: 'List organizations', tags: ['organizations'], responses: { 200: { description: 'page' } }, auth: false },
          async (ctx) => {
            ctx.body = { results: [], next: null };
          },
        ),
      ),
      startFakeService('work', (routes) =>
        routes.add(
          {
            method: 'get',
            path: '/api/v1/projects/:id',
            summary: 'Get a project',
            tags: ['projects'],
            params: z.object({ id: z.uuid() }),
            responses: { 200: { description: 'project' } },
            auth: false,
          },
          async (ctx) => {
            ctx.body = {};
          },
        ),
      ),
      startFakeService('audit'),
      startFakeService('webhooks'),
    ]);
    [complete, partial] = await Promise.all([
      startGateway({ identityUrl: identity.url, tenancyUrl: tenancy.url, workUrl: work.url, auditUrl: audit.url, webhooksUrl: webhooks.url }),
      startGateway({ identityUrl: identity.url, workUrl: work.url, auditUrl: audit.url, webhooksUrl: webhooks.url }),
    ]);
  });
  afterAll(async () => {
    await Promise.all([complete.close(), partial.close()]);
    await Promise.all([identity, tenancy, work, audit, webhooks].map((s) => s.close()));
  });

  it('is ready when every service answers its /readyz, and reports each one', async () => {
    const res = await request(complete.url, 'GET', '/readyz');
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ status: 'ok', checks: { identity: 'ok', tenancy: 'ok', work: 'ok', audit: 'ok', webhooks: 'ok' } });
  });

  it('is not ready (503) while a service is down, naming it', async () => {
    const res = await request(partial.url, 'GET', '/readyz');
    expect(res.status).toBe(503);
    expect(res.body.status).toBe('unavailable');
    expect(res.body.checks).toMatchObject({ identity: 'ok', work: 'ok', audit: 'ok' });
    // Only ok or unavailable on the public port: no address, no error text.
    expect(res.body.checks.tenancy).toBe('unavailable');
    expect(JSON.stringify(res.body)).not.toMatch(/ECONNREFUSED|127\.0\.0\.1/);
  });

  it('serves one OpenAPI 3.1 document merged from the services, without a token', async () => {
    const res = await request(complete.url, 'GET', '/api/v1/openapi.json');
    expect(res.status).toBe(200);
    expect(res.body.openapi).toBe('3.1.0');
    expect(res.body.info.title).toBe('TaskFlow API');
    expect(Object.keys(res.body.paths)).toEqual(expect.arrayContaining(['/api/v1/organizations/', '/api/v1/projects/{id}/', '/api/v1/auth/jwks/']));
    expect(res.body.paths['/api/v1/projects/{id}/'].get.summary).toBe('Get a project');
    expect(res.body.components.schemas.Problem).toBeDefined();
    expect(res.body.components.securitySchemes.bearerAuth).toBeDefined();
    expect(res.body['x-missing-services']).toEqual([]);
  });

  it('leaves out a service that is down and says so', async () => {
    const res = await request(partial.url, 'GET', '/api/v1/openapi.json/');
    expect(res.status).toBe(200);
    expect(res.body['x-missing-services']).toEqual(['tenancy']);
    expect(res.body.info.description).toContain('tenancy');
    expect(res.body.paths['/api/v1/projects/{id}/']).toBeDefined();
    expect(res.body.paths['/api/v1/organizations/']).toBeUndefined();
  });

  it('serves the API reference page with swagger-ui assets from the gateway itself', async () => {
    for (const path of ['/api/docs', '/api/docs/']) {
      const page = await request<string>(complete.url, 'GET', path);
      expect(page.status).toBe(200);
      expect(page.headers.get('content-type')).toMatch(/^text\/html/);
      expect(page.body).not.toMatch(/https?:\/\//);
      const assets = [...page.body.matchAll(/(?:src|href)="([^"]+)"/g)].map((m) => m[1]!);
      expect(assets.length).toBeGreaterThanOrEqual(4);
      for (const asset of assets) {
        expect(asset.startsWith('/api/docs/assets/')).toBe(true);
        const res = await fetch(`${complete.url}${asset}`);
        expect(res.status).toBe(200);
        expect((await res.arrayBuffer()).byteLength).toBeGreaterThan(0);
      }
    }
    const init = await request<string>(complete.url, 'GET', '/api/docs/assets/init.js');
    expect(init.body).toContain('/api/v1/openapi.json');
    const css = await fetch(`${complete.url}/api/docs/assets/swagger-ui.css`);
    expect(css.headers.get('content-type')).toMatch(/^text\/css/);
    expect((await request(complete.url, 'GET', '/api/docs/assets/package.json')).status).toBe(404);
    expect((await request(complete.url, 'GET', '/api/docs/assets/..%2fpackage.json')).status).toBe(404);
  });

  it('sends the root to the API reference, for GET and HEAD only', async () => {
    for (const method of ['GET', 'HEAD'] as const) {
      const res = await fetch(`${complete.url}/`, { method, redirect: 'manual' });
      expect(res.status).toBe(302);
      expect(res.headers.get('location')).toBe('/api/docs');
    }
    const post = await fetch(`${complete.url}/`, { method: 'POST', redirect: 'manual' });
    expect(post.status).toBe(404);
  });

  it('exposes each breaker state in /metrics on METRICS_PORT, and no /metrics on the public port', async () => {
    expect((await request(complete.url, 'GET', '/metrics')).status).toBe(404);
    const metrics = await request<string>(complete.metricsUrl, 'GET', '/metrics');
    for (const upstream of ['identity', 'tenancy', 'work', 'audit', 'webhooks']) {
      expect(metrics.body).toMatch(new RegExp(`gateway_upstream_circuit_state\\{[^}]*upstream="${upstream}"[^}]*\\} 0`));
    }
  });
});
