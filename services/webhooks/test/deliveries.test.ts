// The delivery engine against real receivers on 127.0.0.1: signed bodies, subscriptions, retries,
// timeouts, redirects, 410, rotation overlap, manual retry, and auto-disable with mail to the owners.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { eventually, waitForMailTo } from '@taskflow/shared/testing';
import { Webhook } from 'standardwebhooks';
import { type Harness, type Receiver, startHarness, startReceiver } from './harness';

const task = (title: string) => ({ id: '00000000-0000-4000-8000-00000000000a', project_id: '00000000-0000-4000-8000-00000000000b', title });

describe('webhook deliveries', () => {
  let h: Harness;
  let mailDir: string;
  const receivers: Receiver[] = [];
  const receiver = async (...args: Parameters<typeof startReceiver>) => {
    const r = await startReceiver(...args);
    receivers.push(r);
    return r;
  };

  beforeAll(async () => {
    mailDir = await mkdtemp(path.join(tmpdir(), 'webhooks-mail-'));
    // A short schedule and timeout, so retries and hangs resolve within a test.
    h = await startHarness({ env: { WEBHOOK_RETRY_SCHEDULE: '0.3,0.3,0.3', WEBHOOK_TIMEOUT_MS: '500' }, mailOutboxDir: mailDir });
  });
  afterAll(async () => {
    await h.close();
    for (const r of receivers) await r.close();
    await rm(mailDir, { recursive: true, force: true });
  });

  const deliveriesOf = async (org: { owner: { token: string; id: string; email: string } }, endpointId: string) =>
    (await h.call('GET', `/api/v1/webhooks/${endpointId}/deliveries/?limit=200`, org.owner as never)).body.results;

  it('delivers an event signed so that the standardwebhooks library verifies it, with the body API.md describes', async () => {
    const org = await h.organization();
    const r = await receiver();
    const endpoint = await h.createEndpoint(org, r.url);
    const eventId = await h.publish('work.task.updated', org.id, { task: task('Ship'), changes: { status: ['todo', 'done'] } }, org.admin);
    const got = await eventually(() => r.received.find((x) => x.headers['webhook-id'] === eventId), 10_000);
    const verified = new Webhook(endpoint.secret).verify(got.body, got.headers as Record<string, string>);
    expect(verified).toEqual({
      id: eventId,
      type: 'task.updated',
      timestamp: expect.any(String),
      organization: org.id,
      data: {
        actor: org.admin.id,
        actor_email: org.admin.email,
        target: { type: 'task', id: task('Ship').id },
        changes: { status: ['todo', 'done'] },
        object: { id: task('Ship').id, organization: org.id, project: task('Ship').project_id, title: 'Ship' },
      },
    });
    expect(got.headers['content-type']).toBe('application/json');
    expect(Math.abs(Number(got.headers['webhook-timestamp']) - Date.now() / 1000)).toBeLessThan(30);
    // A tampered body fails verification.
    expect(() => new Webhook(endpoint.secret).verify(got.body.replace('Ship', 'Sink'), got.headers as Record<string, string>)).toThrow();
    // The attempt is recorded once the receiver's answer is in: wait for that, not for the request.
    const delivery = await eventually(async () => (await deliveriesOf(org, endpoint.id)).find((d: { event_id: string; attempts: number }) => d.event_id === eventId && d.attempts > 0), 10_000);
    expect(delivery).toMatchObject({ event_type: 'task.updated', status: 'succeeded', attempts: 1, last_status_code: 204, last_error: null, next_attempt_at: null });
    expect(delivery.attempt_log).toEqual([{ attempted_at: expect.any(String), status_code: 204, error: null, duration_ms: expect.any(Number) }]);
  });

  it('sends every event of the organization to a ["*"] endpoint and only the subscribed verbs to a filtered one', async () => {
    const org = await h.organization();
    const all = await receiver();
    const filtered = await receiver();
    await h.createEndpoint(org, all.url, ['*']);
    await h.createEndpoint(org, filtered.url, ['task.created', 'project.deleted']);
    const project = { id: '00000000-0000-4000-8000-0000000000c1', name: 'P' };
    const invite = { id: '00000000-0000-4000-8000-0000000000c2', email: 'x@example.com', role: 'member' as const, expires_at: '2026-12-30T00:00:00.000Z' };
    const organization = { id: org.id, name: 'Acme' };
    const user = { id: org.member.id, email: org.member.email, first_name: 'M', last_name: 'M' };
    const published = [
      await h.publish('tenancy.organization.renamed', org.id, { organization, changes: { name: ['Old', 'Acme'] } }, org.owner),
      await h.publish('tenancy.membership.role_changed', org.id, { organization_id: org.id, user, role: 'member', version: 9, changes: { role: ['admin', 'member'] } }, org.owner),
      await h.publish('tenancy.invite.sent', org.id, { invite, organization }, org.owner),
      await h.publish('tenancy.invite.revoked', org.id, { invite, organization }, org.owner),
      await h.publish('tenancy.invite.accepted', org.id, { invite, organization }, org.owner),
      await h.publish('work.project.created', org.id, { project }, org.owner),
      await h.publish('work.project.updated', org.id, { project, changes: { name: ['O', 'P'] } }, org.owner),
      await h.publish('work.project.deleted', org.id, { project }, org.owner),
      await h.publish('work.task.created', org.id, { task: task('A') }, org.owner),
      await h.publish('work.task.updated', org.id, { task: task('A'), changes: {} }, org.owner),
      await h.publish('work.task.deleted', org.id, { task: task('A') }, org.owner),
      await h.publish('tenancy.membership.removed', org.id, { organization_id: org.id, user, role: 'member', version: 10, reason: 'removed' }, org.owner),
      // Events outside the organization (identity's, or another organization's) reach neither.
      await h.publish('identity.user.updated', null, { user, version: 2 }, org.owner),
    ];
    const expectedTypes = ['organization.renamed', 'membership.role_changed', 'invite.sent', 'invite.revoked', 'invite.accepted', 'project.created', 'project.updated', 'project.deleted', 'task.created', 'task.updated', 'task.deleted', 'membership.removed'];
    const typesOf = (r: Receiver) => r.bodies().filter((b) => published.includes(b.id)).map((b) => b.type).sort();
    // The endpoint's own creation events arrive too; only the published ones are compared.
    await eventually(() => typesOf(all).length === expectedTypes.length, 10_000);
    await eventually(() => typesOf(filtered).length === 2, 10_000);
    expect(typesOf(all)).toEqual([...expectedTypes].sort());
    expect(typesOf(filtered)).toEqual(['project.deleted', 'task.created']);
    const deleted = all.bodies().find((b) => b.type === 'task.deleted');
    expect(deleted.data.object).toBeUndefined();
    const sent = all.bodies().find((b) => b.type === 'invite.sent');
    expect(sent.data.object).toMatchObject({ id: invite.id, email: invite.email, status: 'pending', organization: org.id });
  });

  it('retries a receiver that fails twice and then succeeds, on the configured schedule', async () => {
    const org = await h.organization();
    const r = await receiver((n) => ({ status: n < 2 ? 503 : 200, body: n < 2 ? 'try later' : 'ok' }));
    const endpoint = await h.createEndpoint(org, r.url, ['task.created']);
    const eventId = await h.publish('work.task.created', org.id, { task: task('Retry me') }, org.owner);
    const delivery = await eventually(async () => (await deliveriesOf(org, endpoint.id)).find((d: { event_id: string; status: string }) => d.event_id === eventId && d.status === 'succeeded'), 10_000);
    expect(delivery.attempts).toBe(3);
    expect(delivery.attempt_log.map((a: { status_code: number; error: string | null }) => [a.status_code, a.error])).toEqual([
      [503, 'HTTP 503: try later'],
      [503, 'HTTP 503: try later'],
      [200, null],
    ]);
    const sameId = r.received.filter((x) => x.headers['webhook-id'] === eventId);
    expect(sameId).toHaveLength(3);
    expect(sameId[1]!.at - sameId[0]!.at).toBeGreaterThanOrEqual(250);
  });

  it('times out a hanging receiver, retries, and marks the delivery failed after the last retry', async () => {
    const org = await h.organization();
    const r = await receiver(() => ({ status: 200, delayMs: 5000 }));
    const endpoint = await h.createEndpoint(org, r.url, ['task.created']);
    const eventId = await h.publish('work.task.created', org.id, { task: task('Hang') }, org.owner);
    const delivery = await eventually(async () => (await deliveriesOf(org, endpoint.id)).find((d: { event_id: string; status: string }) => d.event_id === eventId && d.status === 'failed'), 15_000);
    expect(delivery.attempts).toBe(4);
    expect(delivery.last_error).toBe('no answer within 500 ms');
    expect(delivery.attempt_log.every((a: { duration_ms: number }) => a.duration_ms >= 450 && a.duration_ms < 3000)).toBe(true);
  });

  it('does not follow a redirect: the attempt fails with the 3xx recorded', async () => {
    const org = await h.organization();
    const target = await receiver();
    const r = await receiver(() => ({ status: 302, headers: { location: target.url } }));
    const endpoint = await h.createEndpoint(org, r.url, ['task.created']);
    const eventId = await h.publish('work.task.created', org.id, { task: task('Redirect') }, org.owner);
    const delivery = await eventually(async () => (await deliveriesOf(org, endpoint.id)).find((d: { event_id: string; attempts: number }) => d.event_id === eventId && d.attempts >= 1), 10_000);
    expect(delivery.attempt_log[0]).toMatchObject({ status_code: 302, error: expect.stringContaining('redirects are not followed') });
    expect(target.received.filter((x) => x.headers['webhook-id'] === eventId)).toEqual([]);
  });

  it('disables the endpoint at once on 410, publishes it, and sends it nothing more', async () => {
    const org = await h.organization();
    const r = await receiver(() => ({ status: 410 }));
    const endpoint = await h.createEndpoint(org, r.url, ['task.created']);
    const eventId = await h.publish('work.task.created', org.id, { task: task('Gone') }, org.owner);
    const detail = await eventually(async () => {
      const res = await h.call('GET', `/api/v1/webhooks/${endpoint.id}/`, org.owner);
      return res.body.enabled === false ? res.body : undefined;
    }, 10_000);
    expect(detail.disabled_reason).toBe('The receiver answered 410 Gone.');
    const [delivery] = (await deliveriesOf(org, endpoint.id)).filter((d: { event_id: string }) => d.event_id === eventId);
    expect(delivery).toMatchObject({ status: 'failed', attempts: 1, last_status_code: 410 });
    await eventually(() => h.eventsOf('webhooks.endpoint.disabled').some((e) => e.data.endpoint.id === endpoint.id && e.data.reason === 'gone'));
    // A disabled endpoint gets no new deliveries: a witness endpoint shows the next event was consumed.
    const witness = await receiver();
    await h.createEndpoint(org, witness.url, ['task.created']);
    const after = await h.publish('work.task.created', org.id, { task: task('After') }, org.owner);
    await eventually(() => witness.received.some((x) => x.headers['webhook-id'] === after), 10_000);
    expect(r.received).toHaveLength(1);
    expect(await h.db('deliveries').where({ endpoint_id: endpoint.id })).toHaveLength(1);
  });

  it('signs with both secrets after a rotation: receivers holding either verify', async () => {
    const org = await h.organization();
    const r = await receiver();
    const endpoint = await h.createEndpoint(org, r.url, ['task.created']);
    const rotated = await h.call('POST', `/api/v1/webhooks/${endpoint.id}/rotate-secret/`, org.owner);
    const eventId = await h.publish('work.task.created', org.id, { task: task('Rotate') }, org.owner);
    const got = await eventually(() => r.received.find((x) => x.headers['webhook-id'] === eventId), 10_000);
    expect(String(got.headers['webhook-signature']).split(' ')).toHaveLength(2);
    expect(new Webhook(endpoint.secret).verify(got.body, got.headers as Record<string, string>)).toMatchObject({ id: eventId });
    expect(new Webhook(rotated.body.secret).verify(got.body, got.headers as Record<string, string>)).toMatchObject({ id: eventId });
  });

  it('pings, and retries a delivery on request whatever its state', async () => {
    const org = await h.organization();
    const r = await receiver();
    const endpoint = await h.createEndpoint(org, r.url, ['task.created']);
    expect((await h.call('POST', `/api/v1/webhooks/${endpoint.id}/ping/`, org.admin)).status).toBe(202);
    const ping = await eventually(() => r.bodies().find((b) => b.type === 'webhook.ping'), 10_000);
    expect(ping).toMatchObject({ organization: org.id, data: { target: { type: 'webhook', id: endpoint.id } } });
    const delivery = await eventually(async () => (await deliveriesOf(org, endpoint.id)).find((d: { status: string; event_type: string }) => d.event_type === 'webhook.ping' && d.status === 'succeeded'), 10_000);
    expect((await h.call('POST', `/api/v1/webhooks/${endpoint.id}/deliveries/${delivery.id}/retry/`, org.admin)).status).toBe(202);
    await eventually(() => r.received.filter((x) => x.headers['webhook-id'] === ping.id).length === 2, 10_000);
    expect((await h.call('POST', `/api/v1/webhooks/${endpoint.id}/deliveries/00000000-0000-4000-8000-000000000000/retry/`, org.admin)).status).toBe(404);
  });
});

describe('webhook auto-disable', () => {
  let h: Harness;
  let mailDir: string;
  let r: Receiver;

  beforeAll(async () => {
    mailDir = await mkdtemp(path.join(tmpdir(), 'webhooks-mail-'));
    r = await startReceiver(() => ({ status: 500 }));
    // "Failing for 5 days" shortened to no time at all: the first failure disables.
    h = await startHarness({ env: { WEBHOOK_RETRY_SCHEDULE: '60', WEBHOOK_DISABLE_AFTER_SECONDS: '0' }, mailOutboxDir: mailDir });
  });
  afterAll(async () => {
    await h.close();
    await r.close();
    await rm(mailDir, { recursive: true, force: true });
  });

  it('disables an endpoint whose deliveries keep failing and mails the organization’s owners', async () => {
    const org = await h.organization();
    const endpoint = await h.createEndpoint(org, r.url, ['task.created']);
    await h.publish('work.task.created', org.id, { task: task('Fail') }, org.owner);
    const detail = await eventually(async () => {
      const res = await h.call('GET', `/api/v1/webhooks/${endpoint.id}/`, org.owner);
      return res.body.enabled === false ? res.body : undefined;
    }, 10_000);
    expect(detail.disabled_reason).toBe('Every delivery failed for 5 days.');
    const { mail } = await waitForMailTo(mailDir, org.owner.email, new RegExp(`/api/v1/webhooks/${endpoint.id}/deliveries/`));
    expect(mail.subject).toBe('A TaskFlow webhook was disabled');
    await eventually(() => h.eventsOf('webhooks.endpoint.disabled').some((e) => e.data.endpoint.id === endpoint.id && e.data.reason === 'failing'));
  });
});
