// The audit schema: the shared inbox and membership replica, the activity log and its feed order.
import { inboxMigration, inboxRetentionMigration, type Migration, membershipReplicaMigration } from '@taskflow/shared';

export const AUDIT_SCHEMA = 'audit';
export const ACTIVITY_TABLE = 'activity';

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

export const migrations: readonly Migration[] = [inboxMigration, membershipReplicaMigration, activityMigration, feedOrderMigration, inboxRetentionMigration];
