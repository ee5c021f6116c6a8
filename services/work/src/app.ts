// The work Koa app (no listen): the shared base plus the project and task routes.
import { type AccessTokenVerifier, authenticate, createApp, type Knex, type Logger, type MembershipReplica, type Outbox, pingDb, type ServiceApp } from '@taskflow/shared';
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
}

export function buildApp(options: WorkAppOptions): ServiceApp {
  const deps: WorkDeps = { db: options.db, replica: options.replica, outbox: options.outbox };
  const auth = authenticate(options.verifier);
  return createApp({
    service: 'work',
    logger: options.logger,
    readiness: { database: () => pingDb(options.db), ...options.readiness },
    routes: [projectRoutes(deps, auth), taskRoutes(deps, auth)],
  });
}
