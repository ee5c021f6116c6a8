// Project use cases: who may act is decided by policy.ts; what exists is scoped by the caller's memberships.
import { type Knex, notFound, requireIfMatch, type IfMatch, validationFailed } from '@taskflow/shared';
import * as projects from '../db/projects';
import * as tasks from '../db/tasks';
import { oneOrganization } from '../db/keyset';
import { changesBetween, projectCreated, projectDeleted, projectUpdated, taskDeleted } from './events';
import type { Actor, Project, WorkContext } from './model';
import { lockOrganizationForCreate } from './organization-lock';
import { authorize } from './policy';

export interface ProjectInput {
  organization: string;
  name: string;
  description: string;
}

export type ProjectChanges = Partial<Pick<Project, 'name' | 'description'>>;

/** The organization of a project the caller belongs to, and the caller's role there; 404 otherwise. */
async function projectScope(ctx: WorkContext, actor: Actor, id: string) {
  const organization = await projects.projectOrganization(ctx.db, id);
  if (!organization) throw notFound();
  const role = await ctx.replica.requireRole(actor.id, organization);
  return { organization, role };
}

/** `commit` runs the write in the transaction the caller chooses (an Idempotency-Key wraps it). */
export async function createProject<R>(
  ctx: WorkContext,
  actor: Actor,
  input: ProjectInput,
  commit: (write: (trx: Knex.Transaction) => Promise<Project>) => Promise<R>,
): Promise<R> {
  // An organization the caller does not belong to is reported like one that does not exist.
  const role = await ctx.replica.roleOf(actor.id, input.organization);
  if (!role) throw validationFailed({ organization: ['Organization not found.'] });
  authorize(role, { kind: 'project.create' });
  return commit(async (trx) => {
    const locked = await lockOrganizationForCreate(trx, input.organization, actor.id);
    if (!locked) throw validationFailed({ organization: ['Organization not found.'] });
    authorize(locked, { kind: 'project.create' });
    const project = await projects.insertProject(trx, { organization_id: input.organization, name: input.name, description: input.description });
    await ctx.outbox.add(trx, projectCreated(project, actor));
    return project;
  });
}

export async function getProject(ctx: WorkContext, actor: Actor, id: string): Promise<Project> {
  const found = await projects.findProjectWithMembership(ctx.db, id, actor.id);
  if (!found) throw notFound();
  await ctx.replica.requireJoinedRole(actor.id, found.project.organization, found.membership);
  return found.project;
}

export async function listProjects(ctx: WorkContext, actor: Actor, query: { organization?: string; after?: [string, string]; limit: number }) {
  let organizations = ctx.replica.organizationsOf(actor.id);
  if (query.organization !== undefined) {
    await ctx.replica.requireRole(actor.id, query.organization);
    organizations = oneOrganization(ctx.db, query.organization);
  }
  const rows = await projects.listProjects(ctx.db, organizations, query.after, query.limit);
  return rows.map(projects.toProject);
}

/** PATCH and PUT: `changes` holds the fields sent; `ifMatch` comes from If-Match. */
export async function updateProject(ctx: WorkContext, actor: Actor, id: string, changes: ProjectChanges, ifMatch?: IfMatch): Promise<Project> {
  const { organization, role } = await projectScope(ctx, actor, id);
  authorize(role, { kind: 'project.update' });
  return ctx.db.transaction(async (trx) => {
    const current = await projects.findProject(trx, id, organization, { lock: 'update' });
    if (!current) throw notFound();
    requireIfMatch(ifMatch, current.version);
    const diff = changesBetween(current, changes);
    if (Object.keys(diff).length === 0) return current;
    const updated = await projects.updateProject(trx, id, changes);
    await ctx.outbox.add(trx, projectUpdated(updated, diff, actor));
    return updated;
  });
}

/** Deletes the project and its tasks; each task deletion is an event of its own. */
export async function deleteProject(ctx: WorkContext, actor: Actor, id: string, ifMatch?: IfMatch): Promise<void> {
  const { organization, role } = await projectScope(ctx, actor, id);
  authorize(role, { kind: 'project.delete' });
  await ctx.db.transaction(async (trx) => {
    // FOR UPDATE waits for tasks being written into the project and keeps new ones out.
    const current = await projects.findProject(trx, id, organization, { lock: 'delete' });
    if (!current) throw notFound();
    requireIfMatch(ifMatch, current.version);
    const deletedTasks = await tasks.deleteTasksWhere(trx, { project_id: id });
    await projects.deleteProjectRow(trx, id);
    await ctx.outbox.add(trx, deletedTasks.map((t) => taskDeleted(t, actor)), projectDeleted(current, actor));
  });
}
