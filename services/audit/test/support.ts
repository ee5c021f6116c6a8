// Helpers for audit's tests: events shaped like the real ones, two ways to publish them, a tenancy stand-in.
import { randomUUID } from 'node:crypto';
import amqplib from 'amqplib';
import Koa from 'koa';
import {
  Broker,
  createDb,
  createLogger,
  EVENTS_EXCHANGE,
  type EventEnvelope,
  type EventPayloads,
  type EventType,
  type Knex,
  migrate,
  type NewEvent,
  Outbox,
  OutboxRelay,
  outboxMigration,
  requestContext,
  type Role,
  type RunningServer,
} from '@taskflow/shared';
import { startTestServer } from '@taskflow/shared/testing';

export const silent = createLogger('audit-test', 'silent');

export interface TestUser {
  id: string;
  email: string;
}

let userCount = 0;
export function newUser(name = 'user'): TestUser {
  userCount += 1;
  return { id: randomUUID(), email: `${name}${userCount}-${randomUUID().slice(0, 6)}@example.com` };
}

export const summary = (u: TestUser) => ({ id: u.id, email: u.email, first_name: 'First', last_name: 'Last' });

/** A complete envelope, as a publishing service's outbox would produce it. */
export function envelope<T extends EventType>(
  type: T,
  organizationId: string | null,
  data: EventPayloads[T],
  options: { actor?: TestUser | null; occurredAt?: Date; requestId?: string | null; id?: string } = {},
): EventEnvelope<T> {
  const actor = options.actor ?? null;
  return {
    id: options.id ?? randomUUID(),
    type,
    version: 1,
    occurred_at: (options.occurredAt ?? new Date()).toISOString(),
    organization_id: organizationId,
    actor_id: actor?.id ?? null,
    actor_email: actor?.email ?? null,
    request_id: options.requestId === undefined ? `req-${randomUUID()}` : options.requestId,
    data,
  };
}

/** NewEvent builders for the events the tests publish most. */
export const events = {
  membershipAdded: (org: string, member: TestUser, role: Role, version: number, actor: TestUser | null = member): NewEvent<'tenancy.membership.added'> => ({
    type: 'tenancy.membership.added',
    organization_id: org,
    actor,
    data: { organization_id: org, user: summary(member), role, version },
  }),
  membershipRoleChanged: (org: string, member: TestUser, from: Role, to: Role, version: number, actor: TestUser): NewEvent<'tenancy.membership.role_changed'> => ({
    type: 'tenancy.membership.role_changed',
    organization_id: org,
    actor,
    data: { organization_id: org, user: summary(member), role: to, version, changes: { role: [from, to] } },
  }),
  membershipRemoved: (org: string, member: TestUser, role: Role, version: number, actor: TestUser): NewEvent<'tenancy.membership.removed'> => ({
    type: 'tenancy.membership.removed',
    organization_id: org,
    actor,
    data: { organization_id: org, user: summary(member), role, version, reason: actor.id === member.id ? 'left' : 'removed' },
  }),
  taskCreated: (org: string, title: string, actor: TestUser, taskId = randomUUID()): NewEvent<'work.task.created'> => ({
    type: 'work.task.created',
    organization_id: org,
    actor,
    data: { task: { id: taskId, project_id: randomUUID(), title } },
  }),
  inviteSent: (org: string, email: string, actor: TestUser): NewEvent<'tenancy.invite.sent'> => ({
    type: 'tenancy.invite.sent',
    organization_id: org,
    actor,
    data: {
      invite: { id: randomUUID(), email, role: 'member', expires_at: new Date(Date.now() + 7 * 86_400_000).toISOString() },
      organization: { id: org, name: 'Org' },
    },
  }),
};

/** Builds the envelope of `event` the way the shared outbox does, at a chosen time. */
export function envelopeOf<T extends EventType>(event: NewEvent<T>, options: { occurredAt?: Date; requestId?: string | null; id?: string } = {}): EventEnvelope<T> {
  const actor = event.actor ? { id: event.actor.id, email: event.actor.email } : null;
  return envelope(event.type, event.organization_id, event.data, { ...options, actor });
}

/**
 * Publishes through the real path: a shared Outbox in a scratch schema of the test database, drained by
 * a shared OutboxRelay onto the test vhost, as work and tenancy do.
 */
export class OutboxPublisher {
  private constructor(
    private readonly db: Knex,
    private readonly broker: Broker,
    private readonly relay: OutboxRelay,
    private readonly outbox: Outbox,
  ) {}

  static async start(databaseUrl: string, amqpUrl: string, schema = 'scratch'): Promise<OutboxPublisher> {
    const db = createDb({ url: databaseUrl, schema, poolMax: 3 });
    await migrate(db, schema, [outboxMigration]);
    const broker = await Broker.connect(amqpUrl, silent);
    const outbox = new Outbox(schema);
    const relay = new OutboxRelay({ db, databaseUrl, outbox, broker, logger: silent, pollIntervalMs: 200 });
    await relay.start();
    return new OutboxPublisher(db, broker, relay, outbox);
  }

  /** Records `events` in one transaction, as part of a request with `requestId`; returns their envelopes. */
  publish(requestId: string, ...events: NewEvent[]): Promise<EventEnvelope[]> {
    return requestContext.run({ requestId }, () => this.db.transaction((trx) => this.outbox.add(trx, ...events)));
  }

  async close(): Promise<void> {
    await this.relay.stop();
    await this.broker.close();
    await this.db.destroy();
  }
}

/** Publishes envelopes straight to the exchange (routing key = type, messageId = id), `times` each, and waits for the confirms. */
export async function publishEnvelopes(amqpUrl: string, envelopes: EventEnvelope[], times = 1): Promise<void> {
  const connection = await amqplib.connect(amqpUrl);
  try {
    const channel = await connection.createConfirmChannel();
    for (let i = 0; i < times; i += 1) {
      for (const e of envelopes) {
        channel.publish(EVENTS_EXCHANGE, e.type, Buffer.from(JSON.stringify(e)), {
          persistent: true,
          messageId: e.id,
          type: e.type,
          contentType: 'application/json',
        });
      }
    }
    await channel.waitForConfirms();
  } finally {
    await connection.close();
  }
}

/** A real HTTP stand-in for tenancy's internal membership endpoint; it knows nobody unless told. */
export async function startTenancyStandIn(serviceToken: string): Promise<RunningServer & { members: Map<string, { role: Role; version: number }>; calls: string[] }> {
  const members = new Map<string, { role: Role; version: number }>();
  const calls: string[] = [];
  const app = new Koa();
  app.use(async (ctx) => {
    calls.push(ctx.path);
    if (ctx.get('authorization') !== `Bearer ${serviceToken}`) {
      ctx.status = 401;
      return;
    }
    const [, , , , org, , user] = ctx.path.split('/');
    const m = members.get(`${org}/${user}`);
    if (!m) {
      ctx.status = 404;
      ctx.body = { detail: 'Not found.' };
      return;
    }
    ctx.body = { organization_id: org, user_id: user, role: m.role, version: m.version };
  });
  const server = await startTestServer(app);
  return Object.assign(server, { members, calls });
}
