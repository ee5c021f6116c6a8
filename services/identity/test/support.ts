// Starts the real identity service on port 0 against a fresh database, with a second pool for assertions
// and its own development mail directory.
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createDb, type Knex } from '@taskflow/shared';
import { createTestDatabase, request, waitForMailTo } from '@taskflow/shared/testing';
import { startIdentity } from './start';

export interface IdentityUnderTest {
  url: string;
  /** Direct access to the identity schema, to check what was stored. */
  db: Knex;
  databaseUrl: string;
  mailDir: string;
  close(): Promise<void>;
}

export async function startIdentityUnderTest(options: { amqpUrl?: string; scryptCost?: number; env?: Record<string, string> } = {}): Promise<IdentityUnderTest> {
  const database = await createTestDatabase('identity');
  const mailDir = await mkdtemp(path.join(tmpdir(), 'identity-mail-'));
  const identity = await startIdentity({ databaseUrl: database.url, scryptCost: options.scryptCost ?? 1024, mailOutboxDir: mailDir, amqpUrl: options.amqpUrl, env: options.env });
  const db = createDb({ url: database.url, schema: 'identity', poolMax: 2 });
  return {
    url: identity.url,
    db,
    databaseUrl: database.url,
    mailDir,
    async close() {
      await identity.close();
      await db.destroy();
      await database.drop();
      await rm(mailDir, { recursive: true, force: true });
    },
  };
}

/** The token of the newest link to `/auth/<kind>/` mailed to `to`. */
export async function mailedToken(mailDir: string, to: string, kind: 'verify-email' | 'password-reset'): Promise<string> {
  const { match } = await waitForMailTo(mailDir, to, new RegExp(`/api/v1/auth/${kind}/([A-Za-z0-9_-]{43})/`));
  return match[1]!;
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
