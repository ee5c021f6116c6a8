// Users: every SQL statement on identity.users. Addresses are looked up by their canonical form.
import { canonicalEmail, type Knex } from '@taskflow/shared';

export interface UserRow {
  id: string;
  email: string;
  password_hash: string;
  first_name: string;
  last_name: string;
  is_active: boolean;
  email_verified: boolean;
  /** 0 at registration; each change that identity.user.updated reports adds one. */
  version: number;
  date_joined: Date;
}

export interface NewUser {
  email: string;
  password_hash: string;
  first_name: string;
  last_name: string;
}

const USERS = 'identity.users';
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * Inserts the user, or returns undefined when the address is already taken in any of its forms. The
 * unique index on email_canonical decides, so two concurrent registrations of one address cannot both win.
 */
export async function insertUser(db: Knex, user: NewUser): Promise<UserRow | undefined> {
  const result = await db.raw<{ rows: UserRow[] }>(
    `insert into ${USERS} (email, email_canonical, password_hash, first_name, last_name) values (?, ?, ?, ?, ?)
     on conflict (email_canonical) do nothing
     returning *`,
    [user.email, canonicalEmail(user.email), user.password_hash, user.first_name, user.last_name],
  );
  return result.rows[0];
}

/** The active account of `email` (any of its forms), as a query selecting `columns`. */
export function activeUserByEmail(db: Knex, email: string): Knex.QueryBuilder {
  // PostgreSQL text cannot hold NUL (it would be an error, not a miss), so no stored email contains one.
  if (email.includes('\u0000')) return db(USERS).whereRaw('false');
  return db(USERS).where({ email_canonical: canonicalEmail(email), is_active: true });
}

export async function findActiveUserByEmail(db: Knex, email: string): Promise<UserRow | undefined> {
  return activeUserByEmail(db, email).first();
}

/** Marks the address verified; returns the user with its new version, or undefined when it already was. */
export async function markEmailVerified(db: Knex, id: string): Promise<UserRow | undefined> {
  const [row] = await db(USERS)
    .where({ id, is_active: true, email_verified: false })
    .update({ email_verified: true, version: db.raw('version + 1'), updated_at: db.fn.now() })
    .returning('*');
  return row as UserRow | undefined;
}

/** An id that is not a UUID finds nothing (rather than a database error). */
export async function findActiveUserById(db: Knex, id: string): Promise<UserRow | undefined> {
  if (!UUID.test(id)) return undefined;
  return db<UserRow>(USERS).where({ id, is_active: true }).first();
}

export async function updatePasswordHash(db: Knex, id: string, passwordHash: string): Promise<void> {
  await db(USERS).where({ id }).update({ password_hash: passwordHash, updated_at: db.fn.now() });
}
