// The audit Koa app (no listen): the shared base plus the activity route.
import { type AccessTokenVerifier, type Broker, createApp, type Knex, type Logger, type MembershipReplica, pingDb, type ServiceApp } from '@taskflow/shared';
import { activityRoutes } from './http/activity.routes';

/** What the composition root hands the app. */
export interface AuditAppOptions {
  logger: Logger;
  db: Knex;
  broker: Pick<Broker, 'ping'>;
  replica: MembershipReplica;
  /** Checks access tokens (identity's JWKS in production, `createTestTokens().verifier` in tests). */
  verifier: Pick<AccessTokenVerifier, 'verify'>;
}

export function buildApp({ logger, db, broker, replica, verifier }: AuditAppOptions): ServiceApp {
  return createApp({
    service: 'audit',
    logger,
    readiness: { database: () => pingDb(db), broker: () => broker.ping() },
    routes: [activityRoutes({ db, replica }, verifier)],
  });
}
