// Every webhooks route with another organization's ids: 404 (or 400 on the body's organization), nothing changed.
import { eventually } from '@taskflow/shared/testing';
import { type Harness, type Receiver, startHarness, startReceiver } from './harness';

describe('webhooks cross-tenant access', () => {
  let h: Harness;
  let mine: Awaited<ReturnType<Harness['organization']>>;
  let theirs: Awaited<ReturnType<Harness['organization']>>;
  let theirEndpoint: { id: string };
  let theirDelivery: { id: string };
  let myEndpoint: { id: string };
  let receiver: Receiver;

  /** Once every delivery has settled: the rows a refused request must leave as they were (a retry would add an attempt). */
  const snapshot = async () => {
    await eventually(async () => (await h.db('deliveries').whereIn('status', ['pending', 'retrying'])).length === 0, 10_000);
    return {
      endpoints: await h.db('endpoints').select('*').orderBy('id'),
      deliveries: await h.db('deliveries').select('*').orderBy('id'),
      attempts: (await h.db('delivery_attempts').count({ n: '*' }).first())?.n,
      outbox: (await h.db('outbox').count({ n: '*' }).first())?.n,
    };
  };

  beforeAll(async () => {
    receiver = await startReceiver();
    h = await startHarness();
    mine = await h.organization();
    theirs = await h.organization();
    theirEndpoint = await h.createEndpoint(theirs, `${receiver.url}?theirs`);
    myEndpoint = await h.createEndpoint(mine, `${receiver.url}?mine`);
    await h.call('POST', `/api/v1/webhooks/${theirEndpoint.id}/ping/`, theirs.owner);
    theirDelivery = (await h.db('deliveries').where({ endpoint_id: theirEndpoint.id }).first()) as { id: string };
  });
  afterAll(async () => {
    await h.close();
    await receiver.close();
  });

  const routes: Array<[string, () => string, unknown]> = [
    ['GET', () => `/api/v1/webhooks/?organization=${theirs.id}`, undefined],
    ['GET', () => `/api/v1/webhooks/${theirEndpoint.id}/`, undefined],
    ['PATCH', () => `/api/v1/webhooks/${theirEndpoint.id}/`, { url: 'http://127.0.0.1:9/stolen' }],
    ['DELETE', () => `/api/v1/webhooks/${theirEndpoint.id}/`, undefined],
    ['POST', () => `/api/v1/webhooks/${theirEndpoint.id}/rotate-secret/`, undefined],
    ['POST', () => `/api/v1/webhooks/${theirEndpoint.id}/ping/`, undefined],
    ['GET', () => `/api/v1/webhooks/${theirEndpoint.id}/deliveries/`, undefined],
    ['POST', () => `/api/v1/webhooks/${theirEndpoint.id}/deliveries/${theirDelivery.id}/retry/`, undefined],
  ];

  it.each(routes)('answers 404 to %s %s for every role of another organization and changes nothing', async (method, path, body) => {
    const before = await snapshot();
    for (const user of [mine.owner, mine.admin, mine.member]) {
      const res = await h.call(method, path(), user, { body });
      expect([user.email, res.status, res.body.code]).toEqual([user.email, 404, 'not_found']);
    }
    expect(await snapshot()).toEqual(before);
  });

  it('answers 404 to a retry of their delivery through my own endpoint’s path (403 for my member first)', async () => {
    const before = await snapshot();
    for (const [user, status] of [[mine.owner, 404], [mine.admin, 404], [mine.member, 403]] as const) {
      const res = await h.call('POST', `/api/v1/webhooks/${myEndpoint.id}/deliveries/${theirDelivery.id}/retry/`, user);
      expect([user.email, res.status]).toEqual([user.email, status]);
    }
    expect(await snapshot()).toEqual(before);
  });

  it('refuses to create an endpoint in another organization as if it did not exist', async () => {
    const before = await snapshot();
    const res = await h.call('POST', '/api/v1/webhooks/', mine.owner, { body: { organization: theirs.id, url: 'http://127.0.0.1:9/x', events: ['*'] } });
    expect(res.status).toBe(400);
    expect(Object.keys(res.body.errors)).toEqual(['organization']);
    expect(await snapshot()).toEqual(before);
  });

  it('never delivers another organization’s events to my endpoint', async () => {
    const task = { id: '00000000-0000-4000-8000-00000000aaaa', project_id: '00000000-0000-4000-8000-00000000bbbb', title: 'Secret plan' };
    await h.publish('work.task.created', theirs.id, { task }, theirs.owner);
    await h.publish('work.task.created', mine.id, { task: { ...task, id: '00000000-0000-4000-8000-00000000cccc' } }, mine.owner);
    await eventually(async () => (await h.db('deliveries').where({ endpoint_id: myEndpoint.id, event_type: 'task.created' })).length === 1);
    const mineDeliveries = await h.db('deliveries').where({ endpoint_id: myEndpoint.id });
    expect(mineDeliveries.map((d: { body: string }) => JSON.parse(d.body).organization)).not.toContain(theirs.id);
    expect(mineDeliveries.some((d: { body: string }) => d.body.includes('Secret plan') && JSON.parse(d.body).organization === theirs.id)).toBe(false);
  });
});
