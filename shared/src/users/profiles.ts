// A service's replica of identity's users (address, names, whether the address is verified), fed by
// identity.user.* events; the highest version wins and verification of one address never goes back.
// Tenancy (invites for verified addresses) and audit (invite.received, notification mail) keep one each.
import type { Knex } from 'knex';
import type { Migration } from '../db';
import { canonicalEmail } from '../email';
import type { EventEnvelope, UserSummary } from '../events';

export const USER_PROFILES_TABLE = 'user_profiles';

/** A registration is older than any update (updates carry versions from 1 up). */
export const REGISTERED_PROFILE_VERSION = 0;

/** The table as tenancy's migrations left it, for services that start one now (`IF NOT EXISTS`: tenancy's stays). */
export const userProfilesMigration: Migration = {
  name: '000_user_profiles',
  async up(db) {
    await db.raw(`
      CREATE TABLE IF NOT EXISTS ${USER_PROFILES_TABLE} (
        user_id uuid PRIMARY KEY,
        email text NOT NULL,
        email_canonical text NOT NULL,
        first_name text NOT NULL DEFAULT '',
        last_name text NOT NULL DEFAULT '',
        version bigint NOT NULL,
        email_verified boolean NOT NULL DEFAULT false,
        updated_at timestamptz NOT NULL DEFAULT now()
      );
      CREATE INDEX IF NOT EXISTS user_profiles_email_canonical ON ${USER_PROFILES_TABLE} (email_canonical);
    `);
  },
};

/**
 * Stores the profile unless the replica already holds the same or a newer version. Verification of one
 * address only ever goes from false to true, so an older event (or one without the flag) never undoes it;
 * a new address starts from what the event says.
 */
export async function storeUserProfile(trx: Knex.Transaction, user: UserSummary, version: number, emailVerified: boolean): Promise<void> {
  await trx.raw(
    `INSERT INTO ${USER_PROFILES_TABLE} AS p (user_id, email, email_canonical, first_name, last_name, version, email_verified, updated_at)
     VALUES (?, ?, ?, ?, ?, ?, ?, now())
     ON CONFLICT (user_id) DO UPDATE
       SET email = CASE WHEN p.version < excluded.version THEN excluded.email ELSE p.email END,
           email_canonical = CASE WHEN p.version < excluded.version THEN excluded.email_canonical ELSE p.email_canonical END,
           first_name = CASE WHEN p.version < excluded.version THEN excluded.first_name ELSE p.first_name END,
           last_name = CASE WHEN p.version < excluded.version THEN excluded.last_name ELSE p.last_name END,
           version = GREATEST(p.version, excluded.version),
           email_verified = CASE WHEN p.email_canonical = excluded.email_canonical THEN p.email_verified OR excluded.email_verified
                                 WHEN p.version < excluded.version THEN excluded.email_verified ELSE p.email_verified END,
           updated_at = now()
       WHERE p.version < excluded.version OR (excluded.email_verified AND NOT p.email_verified AND p.email_canonical = excluded.email_canonical)`,
    [user.id, user.email, canonicalEmail(user.email), user.first_name, user.last_name, version, emailVerified],
  );
}

/** The replica's effect of an identity user event, for a consumer's handler map. */
export async function applyUserEvent(trx: Knex.Transaction, event: EventEnvelope<'identity.user.registered' | 'identity.user.updated'>): Promise<void> {
  const version = event.type === 'identity.user.updated' ? (event as EventEnvelope<'identity.user.updated'>).data.version : REGISTERED_PROFILE_VERSION;
  await storeUserProfile(trx, event.data.user, version, event.data.email_verified === true);
}
