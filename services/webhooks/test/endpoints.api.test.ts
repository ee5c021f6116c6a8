// The endpoints API: what each route answers, what it stores and publishes, and who may call it.
import { eventually } from '@taskflow/shared/testing';
import { type Harness, type Receiver, startHarness, startReceiver } from './harness';

describe('webhook endpoints API', () => {
  let h: Harness;
  let org: Awaited<ReturnType<Harness['organization']>>;
  // Endpoint changes are themselves delivered: a receiver that accepts them keeps the endpoints' rows still.
  let receiver: Receiver;
  let url: string;

  beforeAll(async () => {
    receiver = await startReceiver();
    url = receiver.url;
    h = await startHarness();
    org = await h.organization();
  });
  afterAll(async () => {
    await h.close();
    await receiver.close();
  });

  it('creates an endpoint with a whsec_ secret shown once and stored only encrypted', async () => {
    const res = await h.call('POST', '/api/v1/webhooks/', org.owner, { body: { organization: org.id, url, events: ['task.created'], description: 'CI' } });
    expect(res.status).toBe(201);
    expect(res.body).toEqual({
      id: expect.any(String),
      organization: org.id,
      url,
      events: ['task.created'],
      description: 'CI',
      enabled: true,
      disabled_reason: null,
      created_at: expect.any(String),
      updated_at: expect.any(String),
      secret: expect.stringMatching(/^whsec_[A-Za-z0-9+/]{43}=$/),
    });
    expect(Buffer.from(res.body.secret.slice(6), 'base64').length).toBeGreaterThanOrEqual(24);
    const row = await h.db('endpoints').where({ id: res.body.id }).first();
    expect(JSON.stringify(row)).not.toContain(res.body.secret.slice(6));
    const detail = await h.call('GET', `/api/v1/webhooks/${res.body.id}/`, org.owner);
    expect(detail.status).toBe(200);
    expect(detail.body.secret).toBeUndefined();
    expect(detail.headers.get('etag')).toBe('"1"');
    await eventually(() => h.eventsOf('webhooks.endpoint.created').find((e) => e.data.endpoint.id === res.body.id));
    const event = h.eventsOf('webhooks.endpoint.created').find((e) => e.data.endpoint.id === res.body.id)!;
    expect(event).toMatchObject({ organization_id: org.id, actor_id: org.owner.id, data: { endpoint: { host: new URL(url).host, description: 'CI', events: ['task.created'], enabled: true } } });
  });

  it('replays a create with the same Idempotency-Key without the secret and without a second endpoint', async () => {
    const body = { organization: org.id, url, events: ['*'] };
    const headers = { 'idempotency-key': 'create-once' };
    const first = await h.call('POST', '/api/v1/webhooks/', org.admin, { body, headers });
    const second = await h.call('POST', '/api/v1/webhooks/', org.admin, { body, headers });
    expect(first.status).toBe(201);
    expect(second.status).toBe(201);
    expect(second.headers.get('idempotent-replayed')).toBe('true');
    expect(second.body.id).toBe(first.body.id);
    expect(second.body.secret).toBeUndefined();
    expect(first.body.secret).toMatch(/^whsec_/);
  });

  it('lets owners and admins manage webhooks and answers 403 to a member, changing nothing', async () => {
    const endpoint = await h.createEndpoint(org, url);
    const before = await h.db('endpoints').where({ id: endpoint.id }).first();
    const attempts: Array<[string, string, unknown]> = [
      ['GET', `/api/v1/webhooks/?organization=${org.id}`, undefined],
      ['POST', '/api/v1/webhooks/', { organization: org.id, url, events: ['*'] }],
      ['GET', `/api/v1/webhooks/${endpoint.id}/`, undefined],
      ['PATCH', `/api/v1/webhooks/${endpoint.id}/`, { description: 'taken' }],
      ['DELETE', `/api/v1/webhooks/${endpoint.id}/`, undefined],
      ['POST', `/api/v1/webhooks/${endpoint.id}/rotate-secret/`, undefined],
      ['POST', `/api/v1/webhooks/${endpoint.id}/ping/`, undefined],
      ['GET', `/api/v1/webhooks/${endpoint.id}/deliveries/`, undefined],
    ];
    for (const [method, path, body] of attempts) {
      const res = await h.call(method, path, org.member, { body });
      expect([method, path, res.status, res.body.code]).toEqual([method, path, 403, 'permission_denied']);
    }
    expect(await h.db('endpoints').where({ id: endpoint.id }).first()).toEqual(before);
    expect(await h.db('deliveries').where({ endpoint_id: endpoint.id, event_type: 'webhook.ping' })).toEqual([]);
    for (const user of [org.owner, org.admin]) {
      const res = await h.call('PATCH', `/api/v1/webhooks/${endpoint.id}/`, user, { body: { description: `by ${user.email}` } });
      expect(res.status).toBe(200);
      expect(res.body.description).toBe(`by ${user.email}`);
    }
  });

  it('lists an organization’s endpoints newest first in keyset pages', async () => {
    const other = await h.organization();
    const made = [];
    for (let i = 0; i < 3; i += 1) made.push((await h.createEndpoint(other, `${url}?n=${i}`)).id);
    const first = await h.call('GET', `/api/v1/webhooks/?organization=${other.id}&limit=2`, other.admin);
    expect(first.status).toBe(200);
    expect(first.body.results.map((e: { id: string }) => e.id)).toEqual([made[2], made[1]]);
    expect(first.headers.get('link')).toContain('rel="next"');
    const second = await h.call('GET', first.body.next, other.admin);
    expect(second.body.results.map((e: { id: string }) => e.id)).toEqual([made[0]]);
    expect(second.body.next).toBeNull();
  });

  it('updates, disables, enables and deletes, publishing each change', async () => {
    const endpoint = await h.createEndpoint(org, url);
    const disabled = await h.call('PATCH', `/api/v1/webhooks/${endpoint.id}/`, org.admin, { body: { enabled: false, events: ['task.updated', 'task.created'] }, headers: { 'if-match': '"1"' } });
    expect(disabled.status).toBe(200);
    expect(disabled.body).toMatchObject({ enabled: false, disabled_reason: 'disabled by a user', events: ['task.updated', 'task.created'] });
    expect(disabled.headers.get('etag')).toBe('"2"');
    const stale = await h.call('PATCH', `/api/v1/webhooks/${endpoint.id}/`, org.admin, { body: { enabled: true }, headers: { 'if-match': '"1"' } });
    expect(stale.status).toBe(412);
    const enabled = await h.call('PATCH', `/api/v1/webhooks/${endpoint.id}/`, org.admin, { body: { enabled: true } });
    expect(enabled.body).toMatchObject({ enabled: true, disabled_reason: null });
    await eventually(() => h.eventsOf('webhooks.endpoint.updated').filter((e) => e.data.endpoint.id === endpoint.id).length === 2);
    const deleted = await h.call('DELETE', `/api/v1/webhooks/${endpoint.id}/`, org.owner);
    expect(deleted.status).toBe(204);
    expect(await h.db('endpoints').where({ id: endpoint.id }).first()).toBeUndefined();
    await eventually(() => h.eventsOf('webhooks.endpoint.deleted').some((e) => e.data.endpoint.id === endpoint.id));
    expect((await h.call('GET', `/api/v1/webhooks/${endpoint.id}/`, org.owner)).status).toBe(404);
  });

  it('rotates the secret: a new whsec_ answer, the old one kept aside for the overlap', async () => {
    const endpoint = await h.createEndpoint(org, url);
    const before = await h.db('endpoints').where({ id: endpoint.id }).first();
    const res = await h.call('POST', `/api/v1/webhooks/${endpoint.id}/rotate-secret/`, org.admin);
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ secret: expect.stringMatching(/^whsec_/) });
    expect(res.body.secret).not.toBe(endpoint.secret);
    const after = await h.db('endpoints').where({ id: endpoint.id }).first();
    expect(after.previous_secret_encrypted).toBe(before.secret_encrypted);
    expect(after.previous_secret_expires_at.getTime() - Date.now()).toBeGreaterThan(23.9 * 3600_000);
    await eventually(() => h.eventsOf('webhooks.endpoint.secret_rotated').some((e) => e.data.endpoint.id === endpoint.id));
  });

  it.each([
    ['a missing url', { events: ['*'] }, 'url'],
    ['a url that is no URL', { url: 'not a url', events: ['*'] }, 'url'],
    ['an ftp url', { url: 'ftp://example.com/x', events: ['*'] }, 'url'],
    ['a url with credentials', { url: 'http://user:pw@127.0.0.1/x', events: ['*'] }, 'url'],
    ['an unknown event verb', { url: 'URL', events: ['task.exploded'] }, 'events'],
    ['"*" mixed with verbs', { url: 'URL', events: ['*', 'task.created'] }, 'events'],
    ['no events', { url: 'URL', events: [] }, 'events'],
    ['an unknown field', { url: 'URL', events: ['*'], secret: 'whsec_mine' }, 'secret'],
  ])('refuses %s with 400 naming the field and stores nothing', async (_label, given, field) => {
    const body = { ...given, ...((given as { url?: string }).url === 'URL' ? { url } : {}) };
    const before = await h.db('endpoints').count({ n: '*' }).first();
    const res = await h.call('POST', '/api/v1/webhooks/', org.owner, { body: { organization: org.id, ...body } });
    expect(res.status).toBe(400);
    // An unknown field is named in `non_field_errors` (the shared validation's form); an item by its index.
    expect(JSON.stringify(res.body.errors)).toContain(field);
    expect(await h.db('endpoints').count({ n: '*' }).first()).toEqual(before);
  });

  it('answers 400 to an unknown delivery status filter and to a forged cursor', async () => {
    const endpoint = await h.createEndpoint(org, url);
    expect((await h.call('GET', `/api/v1/webhooks/${endpoint.id}/deliveries/?status=lost`, org.owner)).status).toBe(400);
    const forged = await h.call('GET', `/api/v1/webhooks/?organization=${org.id}&cursor=abc`, org.owner);
    expect([forged.status, forged.body.code]).toEqual([400, 'invalid_cursor']);
  });

  it('documents every deliverable type and its body under the OpenAPI webhooks section', async () => {
    const doc = (await fetch(`${h.url}/openapi.json`).then((r) => r.json())) as any;
    expect(Object.keys(doc.webhooks).sort()).toEqual(
      [
        'organization.created', 'organization.renamed', 'organization.deleted',
        'membership.added', 'membership.role_changed', 'membership.removed',
        'invite.sent', 'invite.revoked', 'invite.accepted',
        'project.created', 'project.updated', 'project.deleted',
        'task.created', 'task.updated', 'task.deleted',
        'endpoint.created', 'endpoint.updated', 'endpoint.deleted', 'endpoint.secret_rotated', 'endpoint.disabled',
        'webhook.ping',
      ].sort(),
    );
    const task = doc.webhooks['task.updated'].post.requestBody.content['application/json'].schema;
    expect(task.properties.type).toMatchObject({ const: 'task.updated' });
    // The object schemas are named components, referenced from each type that carries them.
    expect(task.properties.data.properties.object).toEqual({ $ref: '#/components/schemas/WebhookTaskObject' });
    expect(Object.keys(doc.components.schemas.WebhookTaskObject.properties).sort()).toEqual(['id', 'organization', 'project', 'title']);
    expect(doc.webhooks['task.created'].post.parameters).toEqual([
      { $ref: '#/components/parameters/WebhookId' },
      { $ref: '#/components/parameters/WebhookTimestamp' },
      { $ref: '#/components/parameters/WebhookSignature' },
    ]);
    expect(doc.webhooks['task.deleted'].post.requestBody.content['application/json'].schema.properties.data.properties.object).toBeUndefined();
  });
});
