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
import type { MailSettings, TenancyContext } from './domain/context';
import { internalRoutes } from './http/internal.routes';
import { inviteRoutes } from './http/invites.routes';
import { memberRoutes } from './http/members.routes';
import { organizationRoutes } from './http/organizations.routes';
import { identityAccounts } from './identity/accounts';

export interface TenancyDeps {
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

export function buildApp(deps: TenancyDeps): ServiceApp {
  const tenancy: TenancyContext = {
    db: deps.db,
    outbox: deps.outbox,
    mail: deps.mail,
    mailQueued: () => deps.mailer.wake(),
    accounts: identityAccounts(deps.identityUrl),
  };
  const routes = new ApiRoutes({ authenticate: authenticate(deps.verifier) });
  organizationRoutes(routes, tenancy);
  memberRoutes(routes, tenancy);
  inviteRoutes(routes, tenancy);
  internalRoutes(routes, tenancy, deps.serviceToken);
  return createApp({
    service: 'tenancy',
    logger: deps.logger,
    readiness: { database: () => pingDb(deps.db), broker: () => deps.broker.ping() },
    routes: [routes],
  });
}
