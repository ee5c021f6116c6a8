// The audit schema: the shared inbox and membership replica, the activity log and its feed order, notifications.
import { inboxMigration, inboxRetentionMigration, mailOutboxMigration, type Migration, membershipReplicaMigration, userProfilesMigration } from '@taskflow/shared';

export const AUDIT_SCHEMA = 'audit';
export const ACTIVITY_TABLE = 'activity';
/** The columns an activity entry is read with (the list, the feed). */
export const ACTIVITY_COLUMNS = [
  'id',
  'organization_id',
  'actor_id',
  'actor_email',
  'verb',
  'action',
  'member_action',
  'target_type',
  'target_id',
  'changes',
  'created_at',
  'request_id',
] as const;
export const NOTIFICATIONS_TABLE = 'notifications';
export const NOTIFICATION_PREFERENCES_TABLE = 'notification_preferences';
export const PENDING_INVITES_TABLE = 'pending_invites';
export const MAIL_THROTTLE_TABLE = 'notification_mail_throttle';
export const STREAM_LEASES_TABLE = 'stream_leases';

const activityMigration: Migration = {
  name: '001_activity',
  async up(db) {
    await db.raw(`
      create table ${ACTIVITY_TABLE} (
        id uuid primary key,
        organization_id uuid not null,
        actor_id uuid,
        actor_email text,
        verb text not null,
        action text not null,
        member_action text not null,
        target_type text not null,
        target_id uuid not null,
        changes jsonb not null default '{}',
        created_at timestamptz not null,
        recorded_at timestamptz not null default now(),
        request_id text
      )`);
    // Every read is one organization's entries newest first (a list without ?organization= reads each
    // of the caller's organizations through the same index). Each filter gets an index with the same
    // tail, so its newest page is an index range read at any table size.
    await db.raw(`create index activity_newest on ${ACTIVITY_TABLE} (organization_id, created_at desc, id desc)`);
    await db.raw(`create index activity_by_actor on ${ACTIVITY_TABLE} (organization_id, actor_id, created_at desc, id desc)`);
    await db.raw(`create index activity_by_verb on ${ACTIVITY_TABLE} (organization_id, verb, created_at desc, id desc)`);
    await db.raw(`create index activity_by_target_type on ${ACTIVITY_TABLE} (organization_id, target_type, created_at desc, id desc)`);
    await db.raw(`create index activity_by_target on ${ACTIVITY_TABLE} (organization_id, target_id, created_at desc, id desc)`);
  },
  async down(db) {
    await db.raw(`drop table if exists ${ACTIVITY_TABLE}`);
  },
};

/**
 * The feed order: `seq` numbers entries in the order their transactions commit (see db/feed.ts), so a
 * stream resumes after an entry with `seq >` its number and can never skip one that committed later.
 */
const feedOrderMigration: Migration = {
  name: '002_activity_feed_order',
  async up(db) {
    await db.raw(`alter table ${ACTIVITY_TABLE} add column seq bigserial`);
    await db.raw(`create unique index activity_by_seq on ${ACTIVITY_TABLE} (seq)`);
    await db.raw(`create index activity_by_organization_seq on ${ACTIVITY_TABLE} (organization_id, seq)`);
  },
};

/** One row per person an event concerns; `(event_id, recipient_id, kind)` is unique, so a redelivery adds nothing. */
const notificationsMigration: Migration = {
  name: '003_notifications',
  async up(db) {
    await db.raw(`
      create table ${NOTIFICATIONS_TABLE} (
        id uuid primary key,
        event_id uuid not null,
        recipient_id uuid not null,
        kind text not null,
        organization_id uuid not null,
        actor_id uuid,
        actor_email text,
        target_type text not null,
        target_id uuid not null,
        message text not null,
        created_at timestamptz not null,
        read_at timestamptz,
        unique (event_id, recipient_id, kind)
      )`);
    // Every read is one recipient's notifications newest first, all or unread only.
    await db.raw(`create index notifications_newest on ${NOTIFICATIONS_TABLE} (recipient_id, created_at desc, id desc)`);
    await db.raw(`create index notifications_unread on ${NOTIFICATIONS_TABLE} (recipient_id, created_at desc, id desc) where read_at is null`);
    await db.raw(`
      create table ${NOTIFICATION_PREFERENCES_TABLE} (
        user_id uuid primary key,
        email jsonb not null default '{}',
        updated_at timestamptz not null default now()
      )`);
  },
  async down(db) {
    await db.raw(`drop table if exists ${NOTIFICATION_PREFERENCES_TABLE}`);
    await db.raw(`drop table if exists ${NOTIFICATIONS_TABLE}`);
  },
};

/** The personal stream's order, numbered in commit order like the activity feed's (see db/feed.ts). */
const notificationsFeedOrderMigration: Migration = {
  name: '004_notifications_feed_order',
  async up(db) {
    await db.raw(`alter table ${NOTIFICATIONS_TABLE} add column seq bigserial`);
    await db.raw(`create unique index notifications_by_seq on ${NOTIFICATIONS_TABLE} (seq)`);
    await db.raw(`create index notifications_by_recipient_seq on ${NOTIFICATIONS_TABLE} (recipient_id, seq)`);
  },
};

/**
 * What `invite.received` and notification mail need: the invites still pending (so an address verified
 * after the invite was sent is told of it then), and when each person was last mailed of each kind and
 * target (at most one mail per kind per task per minute).
 */
const invitesAndMailMigration: Migration = {
  name: '005_pending_invites_and_mail_throttle',
  async up(db) {
    await db.raw(`
      create table ${PENDING_INVITES_TABLE} (
        invite_id uuid primary key,
        event_id uuid not null,
        organization_id uuid not null,
        organization_name text not null,
        email_canonical text not null,
        inviter_id uuid,
        inviter_email text,
        sent_at timestamptz not null,
        expires_at timestamptz not null
      )`);
    await db.raw(`create index pending_invites_by_email on ${PENDING_INVITES_TABLE} (email_canonical)`);
    await db.raw(`create index pending_invites_by_organization on ${PENDING_INVITES_TABLE} (organization_id)`);
    await db.raw(`
      create table ${MAIL_THROTTLE_TABLE} (
        recipient_id uuid not null,
        kind text not null,
        target_id uuid not null,
        last_mailed_at timestamptz not null,
        primary key (recipient_id, kind, target_id)
      )`);
  },
  async down(db) {
    await db.raw(`drop table if exists ${MAIL_THROTTLE_TABLE}`);
    await db.raw(`drop table if exists ${PENDING_INVITES_TABLE}`);
  },
};

/** One row per open event stream, on any replica, renewed while it is open (STREAMS_PER_USER across replicas). */
const streamLeasesMigration: Migration = {
  name: '006_stream_leases',
  async up(db) {
    await db.raw(`
      create table ${STREAM_LEASES_TABLE} (
        id uuid primary key,
        user_id uuid not null,
        holder text not null,
        expires_at timestamptz not null
      )`);
    await db.raw(`create index stream_leases_by_user on ${STREAM_LEASES_TABLE} (user_id, expires_at)`);
    await db.raw(`create index stream_leases_by_holder on ${STREAM_LEASES_TABLE} (holder)`);
  },
  async down(db) {
    await db.raw(`drop table if exists ${STREAM_LEASES_TABLE}`);
  },
};

export const migrations: readonly Migration[] = [
  inboxMigration,
  membershipReplicaMigration,
  activityMigration,
  feedOrderMigration,
  notificationsMigration,
  notificationsFeedOrderMigration,
  inboxRetentionMigration,
  userProfilesMigration,
  mailOutboxMigration,
  invitesAndMailMigration,
  streamLeasesMigration,
];
