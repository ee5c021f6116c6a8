// The whole system in one process for end-to-end journeys: every service on its own port, one fresh
// database (a schema per service) and one fresh vhost, all reached through a real gateway.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createTaskflowClient, type TaskflowClient } from '@taskflow/client';
import { AccessTokenVerifier, jwksFromUrl } from '@taskflow/shared';
import { createTestDatabase, createTestVhost, request, waitForMailTo, type JsonResponse } from '@taskflow/shared/testing';
import { startGateway } from '../../services/gateway/test/start';
import { startIdentity } from '../../services/identity/test/start';
import { startTenancy } from '../../services/tenancy/test/start';
import { startWork } from '../../services/work/test/start';
import { startAudit } from '../../services/audit/test/start';
import { startWebhooks } from '../../services/webhooks/test/start';

const SERVICE_TOKEN = 'e2e-service-token-0123456789';

interface Running {
  url: string;
  close(): Promise<void>;
}

export interface System {
  /** The gateway: the only address clients use. */
  url: string;
  databaseUrl: string;
  amqpUrl: string;
  mailDir: string;
  services: { identity: Running; tenancy: Running; work: Running; audit: Running; webhooks: Running };
  close(): Promise<void>;
}

export async function startSystem(options: { gatewayEnv?: Record<string, string> } = {}): Promise<System> {
  const database = await createTestDatabase('e2e');
  const vhost = await createTestVhost('e2e');
  const mailDir = await mkdtemp(path.join(tmpdir(), 'taskflow-mail-'));
  const started: Running[] = [];
  const keep = <T extends Running>(r: T) => {
    started.push(r);
    return r;
  };
  try {
    // Identity and tenancy share one development mail directory, as they share `.dev-mail/` under `npm start`.
    const identity = keep(await startIdentity({ databaseUrl: database.url, amqpUrl: vhost.url, mailOutboxDir: mailDir }));
    // Services verify tokens against identity's JWKS, exactly as in production.
    const verifier = new AccessTokenVerifier({ issuer: 'taskflow-identity', audience: 'taskflow-api', fetchKeys: jwksFromUrl(`${identity.url}/api/v1/auth/jwks/`) });
    const common = { databaseUrl: database.url, amqpUrl: vhost.url, verifier, serviceToken: SERVICE_TOKEN };
    const tenancy = keep(await startTenancy({ ...common, mailOutboxDir: mailDir, identityUrl: identity.url }));
    const work = keep(await startWork({ ...common, tenancyUrl: tenancy.url }));
    const audit = keep(await startAudit({ ...common, tenancyUrl: tenancy.url }));
    const webhooks = keep(await startWebhooks({ ...common, tenancyUrl: tenancy.url, mailOutboxDir: mailDir }));
    const gateway = keep(
      await startGateway({
        identityUrl: identity.url,
        tenancyUrl: tenancy.url,
        workUrl: work.url,
        auditUrl: audit.url,
        webhooksUrl: webhooks.url,
        env: { AUTH_RATE_LIMIT_PER_MINUTE: '100000', LOGIN_FAILURE_LIMIT: '1000', WRITE_RATE_LIMIT_PER_MINUTE: '100000', ...options.gatewayEnv },
      }),
    );
    return {
      url: gateway.url,
      databaseUrl: database.url,
      amqpUrl: vhost.url,
      mailDir,
      services: { identity, tenancy, work, audit, webhooks },
      close: async () => {
        for (const r of started.reverse()) await r.close();
        await database.drop();
        await vhost.drop();
        await rm(mailDir, { recursive: true, force: true });
      },
    };
  } catch (err) {
    for (const r of started.reverse()) await r.close().catch(() => undefined);
    await database.drop();
    await vhost.drop();
    throw err;
  }
}

let counter = 0;

export interface Account {
  id: string;
  email: string;
  password: string;
  access: string;
  refresh: string;
  /** The typed client (generated from the OpenAPI document), authenticated as this account. */
  client: TaskflowClient;
  /** A raw request through the gateway with this account's token, for inputs the typed client refuses. */
  call<T = any>(method: string, path: string, body?: unknown, headers?: Record<string, string>): Promise<JsonResponse<T>>;
}

/** The token of the newest verification link mailed to `email`, read from the development mail. */
export async function verificationToken(system: Pick<System, 'mailDir'>, email: string): Promise<string> {
  const { match } = await waitForMailTo(system.mailDir, email, /\/api\/v1\/auth\/verify-email\/([A-Za-z0-9_-]{43})\//);
  return match[1]!;
}

/** Follows the verification link mailed to the account (through the gateway), as its owner would. */
export async function verifyEmail(system: Pick<System, 'url' | 'mailDir'>, account: Pick<Account, 'email' | 'access'>): Promise<void> {
  const token = await verificationToken(system, account.email);
  // No access token: the link works from any browser or mail client, as the gateway treats it as public.
  const res = await request(system.url, 'POST', `/api/v1/auth/verify-email/${token}/`);
  if (res.status !== 200 || res.body.email_verified !== true) throw new Error(`verify email: ${res.status} ${JSON.stringify(res.body)}`);
}

/**
 * Registers and logs in a fresh user through the gateway, with the typed client, and verifies its email
 * from the mailed link (an unverified account cannot accept invites) unless `verified` is false.
 */
export async function newAccount(system: Pick<System, 'url' | 'mailDir'>, name = 'user', { verified = true }: { verified?: boolean } = {}): Promise<Account> {
  counter += 1;
  const email = `${name}.${counter}.${Date.now().toString(36)}@example.com`;
  const password = 'amber-lantern-9182';
  const anonymous = createTaskflowClient(system.url);
  const registered = await anonymous.POST('/api/v1/auth/register/', { body: { email, password, first_name: name, last_name: 'Test' } });
  if (!registered.data) throw new Error(`register: ${registered.response.status} ${JSON.stringify(registered.error)}`);
  const login = await anonymous.POST('/api/v1/auth/login/', { body: { email, password } });
  if (!login.data) throw new Error(`login: ${login.response.status} ${JSON.stringify(login.error)}`);
  const access = login.data.access;
  if (verified) await verifyEmail(system, { email, access });
  return {
    id: registered.data.id,
    email,
    password,
    access,
    refresh: login.data.refresh,
    client: createTaskflowClient(system.url, { token: access }),
    call: (method, path, body, headers) => request(system.url, method, path, { body, token: access, headers }),
  };
}
