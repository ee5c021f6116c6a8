import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import amqplib, { type Channel, type ChannelModel } from 'amqplib';
import { createTestDatabase, createTestVhost, eventually, request, type TestDatabase, type TestVhost } from '@taskflow/shared/testing';
import { startIdentity } from './start';
import { registration } from './support';

describe('identity events', () => {
  let database: TestDatabase;
  let vhost: TestVhost;
  let identity: { url: string; close(): Promise<void> };
  let connection: ChannelModel;
  let channel: Channel;
  let mailDir: string;

  beforeAll(async () => {
    database = await createTestDatabase('identity_events');
    vhost = await createTestVhost('identity_events');
    mailDir = await mkdtemp(path.join(tmpdir(), 'identity-events-mail-'));
    identity = await startIdentity({ databaseUrl: database.url, amqpUrl: vhost.url, mailOutboxDir: mailDir });
    connection = await amqplib.connect(vhost.url);
    channel = await connection.createChannel();
  });
  afterAll(async () => {
    await connection.close();
    await identity.close();
    await database.drop();
    await vhost.drop();
    await rm(mailDir, { recursive: true, force: true });
  });

  it('publishes identity.user.registered once for a registration and nothing for a refused one', async () => {
    const body = registration();
    const created = await request(identity.url, 'POST', '/api/v1/auth/register', { body, headers: { 'x-request-id': 'reg-1' } });
    expect(created.status).toBe(201);
    const duplicate = await request(identity.url, 'POST', '/api/v1/auth/register', { body: { ...body, email: String(body.email).toUpperCase() } });
    expect(duplicate.status).toBe(400);

    // Tenancy's queue takes identity.user.* (declared by identity on connect, before tenancy ever runs).
    const message = await eventually(() => channel.get('tenancy', { noAck: true }), 10000);
    const event = JSON.parse(message.content.toString('utf8'));
    expect(message.properties.messageId).toBe(event.id);
    expect(event).toMatchObject({
      type: 'identity.user.registered',
      organization_id: null,
      actor_id: created.body.id,
      request_id: 'reg-1',
      data: { user: { id: created.body.id, email: body.email, first_name: 'Ada', last_name: 'Lovelace' }, date_joined: created.body.date_joined, email_verified: false },
    });
    expect(JSON.stringify(event)).not.toContain(String(body.password));
    expect(await channel.get('tenancy', { noAck: true })).toBe(false);
  });
});
