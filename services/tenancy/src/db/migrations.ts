// The tenancy schema: shared outbox/inbox/idempotency tables, then organizations, memberships,
// invites, the user profile replica and the mail outbox.
import { canonicalEmail, envelopeOf, idempotencyMigration, inboxMigration, inboxRetentionMigration, type Knex, type Migration, outboxMigration } from '@taskflow/shared';

export const TENANCY_SCHEMA = 'tenancy';

const tenancyTables: Migration = {
  name: '001_tenancy',
  async up(db) {
    // One sequence for every membership change, so versions keep increasing across leave and re-join.
    await db.raw(`
      CREATE SEQUENCE membership_version_seq;

      CREATE TABLE organizations (
        id uuid PRIMARY KEY,
        name text NOT NULL CHECK (char_length(name) BETWEEN 1 AND 255),
        version integer NOT NULL DEFAULT 1,
        created_at timestamptz(3) NOT NULL DEFAULT now()
      );

      CREATE TABLE memberships (
        organization_id uuid NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
        user_id uuid NOT NULL,
        role text NOT NULL CHECK (role IN ('owner', 'admin', 'member')),
        version bigint NOT NULL DEFAULT nextval('membership_version_seq'),
        joined_at timestamptz(3) NOT NULL DEFAULT now(),
        PRIMARY KEY (organization_id, user_id)
      );
      CREATE INDEX memberships_by_user ON memberships (user_id, organization_id);
      CREATE INDEX memberships_by_join ON memberships (organization_id, joined_at, user_id);

      -- Replica of identity's users (version -1: filled from an access token before any event arrived).
      CREATE TABLE user_profiles (
        user_id uuid PRIMARY KEY,
        email text NOT NULL,
        first_name text NOT NULL DEFAULT '',
        last_name text NOT NULL DEFAULT '',
        version bigint NOT NULL,
        updated_at timestamptz NOT NULL DEFAULT now()
      );
      CREATE INDEX user_profiles_email ON user_profiles (lower(email));

      CREATE TABLE invites (
        id uuid PRIMARY KEY,
        organization_id uuid NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
        email text NOT NULL,
        role text NOT NULL CHECK (role IN ('owner', 'admin', 'member')),
        -- 'expired' is stored only for a pending invite replaced after its expiry.
        status text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'accepted', 'revoked', 'expired')),
        token_hash text NOT NULL UNIQUE,
        invited_by uuid NOT NULL,
        created_at timestamptz(3) NOT NULL DEFAULT now(),
        expires_at timestamptz(3) NOT NULL,
        accepted_by uuid,
        closed_at timestamptz
      );
      CREATE UNIQUE INDEX invites_one_pending ON invites (organization_id, lower(email)) WHERE status = 'pending';
      CREATE INDEX invites_by_org ON invites (organization_id, created_at, id);
      CREATE INDEX invites_pending_by_email ON invites (lower(email)) WHERE status = 'pending';

      -- Mail written in the business transaction, sent by the mailer after commit; the body is cleared once sent.
      -- (Now defined by the shared mailOutboxMigration, which keeps this table as it is.)
      CREATE TABLE mail_outbox (
        id uuid PRIMARY KEY,
        to_address text NOT NULL,
        subject text NOT NULL,
        text_body text,
        created_at timestamptz NOT NULL DEFAULT now(),
        attempts integer NOT NULL DEFAULT 0,
        next_attempt_at timestamptz NOT NULL DEFAULT now(),
        last_error text,
        sent_at timestamptz
      );
      CREATE INDEX mail_outbox_due ON mail_outbox (next_attempt_at) WHERE sent_at IS NULL;
    `);
  },
};

// Revoking a sender's pending invites when they leave or are demoted reads them by sender.
const invitesBySender: Migration = {
  name: '002_invites_by_sender',
  async up(db) {
    await db.raw(`CREATE INDEX invites_pending_by_sender ON invites (organization_id, invited_by) WHERE status = 'pending'`);
  },
};

/**
 * Invites sent before an invite carried its sender's authority may outlive it (security finding 5): revokes,
 * once, every pending invite whose sender is no longer a member or whose role could not send it now (API.md's
 * role table: owners send any role, admins member and admin), with the event a revoke publishes (no actor).
 */
export const revokeInvitesBeyondAuthority: Migration = {
  name: '003_revoke_invites_beyond_authority',
  async up(db) {
    const { rows } = await db.raw(`
      WITH revoked AS (
        UPDATE invites i SET status = 'revoked', closed_at = now()
         WHERE i.status = 'pending' AND i.expires_at > now()
           AND NOT EXISTS (
             SELECT 1 FROM memberships m
              WHERE m.organization_id = i.organization_id AND m.user_id = i.invited_by
                AND (m.role = 'owner' OR (m.role = 'admin' AND i.role IN ('admin', 'member'))))
        RETURNING i.id, i.organization_id, i.email, i.role, i.expires_at, i.created_at)
      SELECT r.*, o.name AS organization_name FROM revoked r JOIN organizations o ON o.id = r.organization_id
       ORDER BY r.created_at, r.id`);
    const envelopes = (rows as Array<{ id: string; organization_id: string; email: string; role: 'owner' | 'admin' | 'member'; expires_at: Date; organization_name: string }>).map((r) =>
      envelopeOf({
        type: 'tenancy.invite.revoked',
        organization_id: r.organization_id,
        actor: null,
        data: {
          invite: { id: r.id, email: r.email, role: r.role, expires_at: r.expires_at.toISOString() },
          organization: { id: r.organization_id, name: r.organization_name },
        },
      }),
    );
    if (envelopes.length > 0) await db('outbox').insert(envelopes.map((e) => ({ id: e.id, type: e.type, envelope: e })));
  },
};

/** Fills `column` of `table` with canonicalEmail(email), computed here: PostgreSQL's lower() disagrees outside ASCII. */
async function fillCanonicalEmails(db: Knex, table: string, key: string, column: string): Promise<void> {
  const rows: Array<{ key: string; email: string }> = await db(table).select({ key, email: 'email' }).whereNull(column);
  for (const row of rows) await db(table).where(key, row.key).update({ [column]: canonicalEmail(row.email) });
}

/**
 * Emails compared in the one canonical form every service uses (shared canonicalEmail), and whether a
 * user's address is verified (from identity's user events): invites are only for verified addresses.
 */
const canonicalEmailsAndVerification: Migration = {
  name: '004_canonical_emails_verification',
  async up(db) {
    await db.raw(`
      ALTER TABLE user_profiles ADD COLUMN email_canonical text, ADD COLUMN email_verified boolean NOT NULL DEFAULT false;
      ALTER TABLE invites ADD COLUMN email_canonical text;
    `);
    await fillCanonicalEmails(db, 'user_profiles', 'user_id', 'email_canonical');
    await fillCanonicalEmails(db, 'invites', 'id', 'email_canonical');
    // Pending invites that lower() kept apart but the canonical form joins: the newest one stays.
    await db.raw(`
      UPDATE invites i SET status = CASE WHEN i.expires_at <= now() THEN 'expired' ELSE 'revoked' END, closed_at = now()
       WHERE i.status = 'pending' AND EXISTS (
         SELECT 1 FROM invites n WHERE n.organization_id = i.organization_id AND n.email_canonical = i.email_canonical
            AND n.status = 'pending' AND (n.created_at, n.id) > (i.created_at, i.id));
      ALTER TABLE user_profiles ALTER COLUMN email_canonical SET NOT NULL;
      ALTER TABLE invites ALTER COLUMN email_canonical SET NOT NULL;
      DROP INDEX user_profiles_email;
      CREATE INDEX user_profiles_email_canonical ON user_profiles (email_canonical);
      DROP INDEX invites_one_pending;
      CREATE UNIQUE INDEX invites_one_pending ON invites (organization_id, email_canonical) WHERE status = 'pending';
      DROP INDEX invites_pending_by_email;
      CREATE INDEX invites_pending_by_email ON invites (email_canonical) WHERE status = 'pending';
    `);
  },
};

export const migrations: readonly Migration[] = [
  outboxMigration,
  inboxMigration,
  idempotencyMigration,
  tenancyTables,
  invitesBySender,
  revokeInvitesBeyondAuthority,
  canonicalEmailsAndVerification,
  inboxRetentionMigration,
];
