// The work Koa app (no listen): the shared base plus the project and task routes.
import { type AccessTokenVerifier, authenticate, createApp, type Knex, type Logger, type MembershipReplica, type Outbox, pingDb, type ServiceApp } from '@taskflow/shared';
import type { WorkContext } from './domain/model';
import { projectRoutes } from './http/projects.routes';
import { taskRoutes } from './http/tasks.routes';

export interface WorkDeps {
  logger: Logger;
  db: Knex;
  outbox: Outbox;
  verifier: Pick<AccessTokenVerifier, 'verify'>;
  replica: MembershipReplica;
  /** Extra readiness checks (the broker, in the real process). */
  readiness?: Record<string, () => Promise<unknown>>;
}

export function buildApp(deps: WorkDeps): ServiceApp {
  const ctx: WorkContext = { db: deps.db, replica: deps.replica, outbox: deps.outbox };
  const auth = authenticate(deps.verifier);
  return createApp({
    service: 'work',
    logger: deps.logger,
    readiness: { database: () => pingDb(deps.db), ...deps.readiness },
    routes: [projectRoutes(ctx, auth), taskRoutes(ctx, auth)],
  });
}
