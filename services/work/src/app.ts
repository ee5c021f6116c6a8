// The work Koa app (no listen): the shared base plus the project and task routes.
import { type AccessTokenVerifier, authenticate, createApp, FairUse, type FairUseOptions, type Knex, type Logger, type MembershipReplica, organizationOrUser, type Outbox, pingDb, type ServiceApp } from '@taskflow/shared';
import type { WorkDeps } from './domain/model';
import { projectRoutes } from './http/projects.routes';
import { taskRoutes } from './http/tasks.routes';

/** What the composition root hands the app. */
export interface WorkAppOptions {
  logger: Logger;
  db: Knex;
  outbox: Outbox;
  verifier: Pick<AccessTokenVerifier, 'verify'>;
  replica: MembershipReplica;
  /** Extra readiness checks (the broker, in the real process). */
  readiness?: Record<string, () => Promise<unknown>>;
  /** The per-tenant concurrency caps and fair queue in front of every handler (tenant: the organization, else the user). */
  fairUse: Omit<FairUseOptions, 'tenantOf'>;
}

export function buildApp(options: WorkAppOptions): ServiceApp {
  const deps: WorkDeps = { db: options.db, replica: options.replica, outbox: options.outbox };
  // One tenant's flood of searches or writes takes at most its share of the process (and of the pool).
  const fairUse = new FairUse({ ...options.fairUse, tenantOf: organizationOrUser(async (user, org) => (await options.replica.roleOf(user, org)) !== null) });
  const routesOptions = { authenticate: authenticate(options.verifier), admission: fairUse.middleware };
  const app = createApp({
    service: 'work',
    logger: options.logger,
    readiness: { database: () => pingDb(options.db), ...options.readiness },
    routes: [projectRoutes(deps, routesOptions), taskRoutes(deps, routesOptions)],
  });
  app.metrics.include(fairUse.metrics.registry);
  return app;
}
