// Starts the real identity service on port 0 against a fresh database, with a second pool for assertions.
import { randomUUID } from 'node:crypto';
import { createDb, type Knex } from '@taskflow/shared';
import { createTestDatabase, request } from '@taskflow/shared/testing';
import { startIdentity } from '../src/testing';

export interface IdentityUnderTest {
  url: string;
  /** Direct access to the identity schema, to check what was stored. */
  db: Knex;
  close(): Promise<void>;
}

export async function startIdentityUnderTest(): Promise<IdentityUnderTest> {
  const database = await createTestDatabase('identity');
  const identity = await startIdentity({ databaseUrl: database.url, scryptCost: 1024 });
  const db = createDb({ url: database.url, schema: 'identity', poolMax: 2 });
  return {
    url: identity.url,
    db,
    async close() {
      await identity.close();
      await db.destroy();
      await database.drop();
    },
  };
}

export const PASSWORD = 'violet-harbor-42';

export function uniqueEmail(prefix = 'user'): string {
  return `${prefix}.${randomUUID().slice(0, 8)}@example.com`;
}

export function registration(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return { email: uniqueEmail(), password: PASSWORD, first_name: 'Ada', last_name: 'Lovelace', ...overrides };
}

export interface Session {
  userId: string;
  email: string;
  access: string;
  refresh: string;
}

/** Registers a new user and logs in. */
export async function newSession(url: string): Promise<Session> {
  const body = registration();
  const registered = await request(url, 'POST', '/api/v1/auth/register', { body });
  if (registered.status !== 201) throw new Error(`register answered ${registered.status}`);
  const login = await request(url, 'POST', '/api/v1/auth/login', { body: { email: body.email, password: PASSWORD } });
  if (login.status !== 200) throw new Error(`login answered ${login.status}`);
  return { userId: registered.body.id, email: String(body.email), access: login.body.access, refresh: login.body.refresh };
}
