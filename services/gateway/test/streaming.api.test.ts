import { eventually, openEventStream, request } from '@taskflow/shared/testing';
import type { Context } from 'koa';
import type { RunningGateway } from '../src/service';
import { startGateway } from './start';
import { createTokenIssuer, type FakeService, identityRoutes, startFakeService } from './support';

/** The audit fake's stream: one event every 100 ms until the client (the gateway) closes the request. */
interface StreamProbe {
  opened: number;
  closed: number;
}

describe('gateway: text/event-stream responses', () => {
  const issuer = createTokenIssuer();
  const probe: StreamProbe = { opened: 0, closed: 0 };
  let identity: FakeService;
  let audit: FakeService;
  let gateway: RunningGateway;

  beforeAll(async () => {
    identity = await startFakeService('identity', identityRoutes(issuer));
    audit = await startFakeService('audit', (routes) =>
      routes.add(
        { method: 'get', path: '/api/v1/activity/stream', summary: 'stream', tags: ['activity'], auth: false, responses: { 200: { description: 'events' } } },
        async (ctx: Context) => {
          probe.opened += 1;
          ctx.respond = false;
          ctx.res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8' });
          ctx.res.flushHeaders();
          let n = 0;
          const timer = setInterval(() => ctx.res.write(`id: ${(n += 1)}\nevent: tick\ndata: {"n":${n}}\n\n`), 100);
          await new Promise<void>((resolve) =>
            ctx.res.once('close', () => {
              clearInterval(timer);
              probe.closed += 1;
              resolve();
            }),
          );
        },
      ),
    );
    gateway = await startGateway({ identityUrl: identity.url, auditUrl: audit.url, env: { UPSTREAM_TIMEOUT_MS: '300' } });
  });

  afterAll(async () => {
    await gateway.close();
    await Promise.all([identity, audit].map((s) => s.close()));
  });

  it('passes events through as they come, past the upstream timeout', async () => {
    const stream = await openEventStream(gateway.url, '/api/v1/activity/stream/', { token: issuer.sign() });
    try {
      expect(stream.status).toBe(200);
      expect(stream.headers['content-type']).toBe('text/event-stream; charset=utf-8');
      expect(stream.headers['x-request-id']).toBeDefined();
      // Eight ticks take 800 ms, well past the 300 ms upstream timeout; each arrives on its own.
      const events = await stream.waitForEvents(8);
      expect(events.slice(0, 8).map((e) => e.id)).toEqual(['1', '2', '3', '4', '5', '6', '7', '8']);
      expect(stream.ended).toBe(false);
    } finally {
      stream.close();
    }
  });

  it('closes the upstream request when the client disconnects', async () => {
    const closedBefore = probe.closed;
    const stream = await openEventStream(gateway.url, '/api/v1/activity/stream/', { token: issuer.sign() });
    await stream.waitForEvents(1);
    stream.close();
    await eventually(() => probe.closed === closedBefore + 1);
  });

  it('checks the token before the stream opens', async () => {
    const openedBefore = probe.opened;
    const stream = await openEventStream(gateway.url, '/api/v1/activity/stream/');
    expect(stream.status).toBe(401);
    expect(probe.opened).toBe(openedBefore);
  });

  it('keeps ordinary responses buffered and complete while streams are open', async () => {
    const stream = await openEventStream(gateway.url, '/api/v1/activity/stream/', { token: issuer.sign() });
    try {
      const res = await request(gateway.url, 'GET', '/api/v1/activity/?x=1', { token: issuer.sign() });
      expect(res.status).toBe(200);
      expect(res.headers.get('content-length')).not.toBeNull();
      expect(res.body).toMatchObject({ service: 'audit', url: '/api/v1/activity/?x=1' });
    } finally {
      stream.close();
    }
  });
});
