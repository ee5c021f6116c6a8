// Users: every SQL statement on identity.users.
import type { Knex } from '@taskflow/shared';

export interface UserRow {
  id: string;
  email: string;
  password_hash: string;
  first_name: string;
  last_name: string;
  is_active: boolean;
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
 * Inserts the user, or returns undefined when the email is already taken in any case. The unique
 * index on lower(email) decides, so two concurrent registrations of one address cannot both win.
 */
export async function insertUser(db: Knex, user: NewUser): Promise<UserRow | undefined> {
  const result = await db.raw<{ rows: UserRow[] }>(
    `insert into ${USERS} (email, password_hash, first_name, last_name) values (?, ?, ?, ?)
     on conflict ((lower(email))) do nothing
     returning *`,
    [user.email, user.password_hash, user.first_name, user.last_name],
  );
  return result.rows[0];
}

export async function findActiveUserByEmail(db: Knex, email: string): Promise<UserRow | undefined> {
  // PostgreSQL text cannot hold NUL (it would be an error, not a miss), so no stored email contains one.
  if (email.includes('\u0000')) return undefined;
  return db<UserRow>(USERS).whereRaw('lower(email) = lower(?)', [email]).andWhere('is_active', true).first();
}

/** An id that is not a UUID finds nothing (rather than a database error). */
export async function findActiveUserById(db: Knex, id: string): Promise<UserRow | undefined> {
  if (!UUID.test(id)) return undefined;
  return db<UserRow>(USERS).where({ id, is_active: true }).first();
}

export async function updatePasswordHash(db: Knex, id: string, passwordHash: string): Promise<void> {
  await db(USERS).where({ id }).update({ password_hash: passwordHash, updated_at: db.fn.now() });
}
