// The tenancy Koa app (no listen): the shared base plus organization, member, invite and internal routes.
import {
  type AccessTokenVerifier,
  ApiRoutes,
  authenticate,
  type Broker,
  createApp,
  type Knex,
  type Logger,
  type Outbox,
  pingDb,
  type ServiceApp,
} from '@taskflow/shared';
import type { MailSettings, TenancyDeps } from './domain/context';
import { internalRoutes } from './http/internal.routes';
import { inviteRoutes } from './http/invites.routes';
import { memberRoutes } from './http/members.routes';
import { organizationRoutes } from './http/organizations.routes';
import { identityAccounts } from './identity/accounts';

/** What the composition root hands the app. */
export interface TenancyAppOptions {
  logger: Logger;
  db: Knex;
  broker: Pick<Broker, 'ping'>;
  outbox: Outbox;
  verifier: Pick<AccessTokenVerifier, 'verify'>;
  mailer: { wake(): void };
  mail: MailSettings;
  serviceToken: string;
  /** Identity's base URL: asked whether a caller's email is verified when the replica does not know yet. */
  identityUrl: string;
}

export function buildApp(options: TenancyAppOptions): ServiceApp {
  const deps: TenancyDeps = {
    db: options.db,
    outbox: options.outbox,
    mail: options.mail,
    mailQueued: () => options.mailer.wake(),
    accounts: identityAccounts(options.identityUrl),
  };
  const routes = new ApiRoutes({ authenticate: authenticate(options.verifier) });
  organizationRoutes(routes, deps);
  memberRoutes(routes, deps);
  inviteRoutes(routes, deps);
  internalRoutes(routes, deps, options.serviceToken);
  return createApp({
    service: 'tenancy',
    logger: options.logger,
    readiness: { database: () => pingDb(options.db), broker: () => options.broker.ping() },
    routes: [routes],
  });
}
