// The identity schema, as a list of migrations applied in order by the shared `migrate`.
import { canonicalEmail, type Migration, mailOutboxMigration, outboxMigration } from '@taskflow/shared';

export const IDENTITY_SCHEMA = 'identity';

export const migrations: readonly Migration[] = [
  {
    name: '001_users_refresh_tokens_signing_keys',
    async up(db) {
      await db.raw(`
        create table identity.users (
          id uuid primary key default gen_random_uuid(),
          email varchar(254) not null,
          password_hash text not null,
          first_name varchar(50) not null,
          last_name varchar(50) not null,
          is_active boolean not null default true,
          date_joined timestamptz not null default now(),
          updated_at timestamptz not null default now()
        )`);
      // One account per address, whatever its case.
      await db.raw('create unique index users_email_lower_key on identity.users (lower(email))');

      // Opaque refresh tokens, stored only as SHA-256; a family is one login and everything rotated from it.
      await db.raw(`
        create table identity.refresh_tokens (
          id uuid primary key default gen_random_uuid(),
          token_hash bytea not null unique,
          family_id uuid not null,
          user_id uuid not null references identity.users (id) on delete cascade,
          created_at timestamptz not null default now(),
          expires_at timestamptz not null,
          used_at timestamptz,
          revoked_at timestamptz
        )`);
      await db.raw('create index refresh_tokens_family_idx on identity.refresh_tokens (family_id)');
      await db.raw('create index refresh_tokens_user_idx on identity.refresh_tokens (user_id)');

      // Development and test only (production keys come from the environment). At most one active key.
      await db.raw(`
        create table identity.signing_keys (
          kid text primary key,
          private_key_pem text not null,
          public_jwk jsonb not null,
          active boolean not null default true,
          created_at timestamptz not null default now()
        )`);
      await db.raw('create unique index signing_keys_one_active on identity.signing_keys (active) where active');
    },
    async down(db) {
      await db.raw('drop table if exists identity.signing_keys, identity.refresh_tokens, identity.users');
    },
  },
  outboxMigration,
  {
    name: '002_refresh_tokens_expiry_index',
    async up(db) {
      await db.raw('create index refresh_tokens_expires_idx on identity.refresh_tokens (expires_at)');
    },
  },
  mailOutboxMigration,
  {
    // One account per canonical address (shared canonicalEmail: trim, NFC, Unicode lower-case), computed
    // in JS because PostgreSQL's lower() disagrees outside ASCII (`İ`); verified addresses; a version
    // per user for identity.user.updated; single-use tokens mailed for verification and password reset.
    name: '003_canonical_email_verification_account_tokens',
    async up(db) {
      await db.raw(`
        alter table identity.users
          add column email_canonical text,
          add column email_verified boolean not null default false,
          add column version integer not null default 0`);
      const users: Array<{ id: string; email: string }> = await db('identity.users').select('id', 'email').orderBy([{ column: 'date_joined' }, { column: 'id' }]);
      const taken = new Set<string>();
      for (const user of users) {
        const canonical = canonicalEmail(user.email);
        // An older account that lower() told apart but the canonical form does not keeps the address;
        // a later one keeps a null (no lookup finds it: it can no longer sign in by that address).
        if (taken.has(canonical)) continue;
        taken.add(canonical);
        await db('identity.users').where({ id: user.id }).update({ email_canonical: canonical });
      }
      await db.raw('create unique index users_email_canonical_key on identity.users (email_canonical)');
      await db.raw('drop index identity.users_email_lower_key');
      await db.raw(`
        create table identity.account_tokens (
          token_hash bytea primary key,
          user_id uuid not null references identity.users (id) on delete cascade,
          purpose text not null check (purpose in ('verify_email', 'reset_password')),
          created_at timestamptz not null default now(),
          expires_at timestamptz not null,
          used_at timestamptz
        )`);
      await db.raw('create index account_tokens_user_idx on identity.account_tokens (user_id, purpose)');
    },
  },
];
