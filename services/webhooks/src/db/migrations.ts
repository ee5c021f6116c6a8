// The webhooks schema: the shared mechanisms' tables, then endpoints, deliveries with their attempts,
// and the addresses of members (to mail owners when an endpoint is disabled).
import { idempotencyMigration, inboxMigration, mailOutboxMigration, membershipReplicaMigration, type Migration, outboxMigration } from '@taskflow/shared';

export const WEBHOOKS_SCHEMA = 'webhooks';

const endpointsAndDeliveries: Migration = {
  name: '001_endpoints_deliveries',
  async up(db) {
    await db.raw(`
      create table webhooks.endpoints (
        id uuid primary key default gen_random_uuid(),
        organization_id uuid not null,
        url text not null,
        events text[] not null,
        description text not null default '',
        enabled boolean not null default true,
        disabled_reason text,
        -- The signing secret, encrypted (AES-256-GCM): only this service can read it.
        secret_encrypted text not null,
        -- After a rotation the old secret keeps signing alongside until it expires.
        previous_secret_encrypted text,
        previous_secret_expires_at timestamptz(3),
        -- The first failure since the last success: five days of that disables the endpoint.
        failing_since timestamptz(3),
        version integer not null default 1,
        created_at timestamptz(3) not null default now(),
        updated_at timestamptz(3) not null default now()
      )`);
    await db.raw('create index endpoints_org_created on webhooks.endpoints (organization_id, created_at, id)');

    await db.raw(`
      create table webhooks.deliveries (
        id uuid primary key default gen_random_uuid(),
        endpoint_id uuid not null references webhooks.endpoints (id) on delete cascade,
        organization_id uuid not null,
        event_id uuid not null,
        event_type text not null,
        -- The body exactly as sent on every attempt (the signature covers these bytes).
        body text not null,
        status text not null default 'pending' check (status in ('pending', 'retrying', 'succeeded', 'failed')),
        attempts integer not null default 0,
        next_attempt_at timestamptz(3),
        -- A worker holds the delivery until then; a crashed worker's lease expires and another retries it.
        leased_until timestamptz(3),
        last_status_code integer,
        last_error text,
        created_at timestamptz(3) not null default now(),
        delivered_at timestamptz(3),
        -- One delivery per event per endpoint, whatever the broker redelivers.
        constraint deliveries_endpoint_event unique (endpoint_id, event_id)
      )`);
    await db.raw('create index deliveries_endpoint_created on webhooks.deliveries (endpoint_id, created_at, id)');
    await db.raw(`create index deliveries_due on webhooks.deliveries (endpoint_id, next_attempt_at) where status in ('pending', 'retrying')`);
    await db.raw('create index deliveries_leased on webhooks.deliveries (endpoint_id) where leased_until is not null');

    await db.raw(`
      create table webhooks.delivery_attempts (
        id bigserial primary key,
        delivery_id uuid not null references webhooks.deliveries (id) on delete cascade,
        attempted_at timestamptz(3) not null default now(),
        status_code integer,
        error text,
        duration_ms integer not null
      )`);
    await db.raw('create index delivery_attempts_delivery on webhooks.delivery_attempts (delivery_id, id)');

    await db.raw(`
      create table webhooks.member_addresses (
        user_id uuid primary key,
        email text not null
      )`);
  },
  async down(db) {
    await db.raw('drop table if exists webhooks.delivery_attempts, webhooks.deliveries, webhooks.endpoints, webhooks.member_addresses');
  },
};

export const migrations: readonly Migration[] = [
  outboxMigration,
  inboxMigration,
  idempotencyMigration,
  membershipReplicaMigration,
  mailOutboxMigration,
  endpointsAndDeliveries,
];
