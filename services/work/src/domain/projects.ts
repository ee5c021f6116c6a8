// Project use cases: who may act is decided by policy.ts; what exists is scoped by the caller's memberships.
import { currentDb, inTransaction, type JsonPage, notFound, requireIfMatch, type IfMatch, validationFailed } from '@taskflow/shared';
import * as projects from '../db/projects';
import * as tasks from '../db/tasks';
import { changesBetween, projectCreated, projectDeleted, projectUpdated, taskDeleted } from './events';
import type { Actor, WorkDeps } from './model';
import { lockOrganizationForCreate } from './organization-lock';
import { authorize } from './policy';

export type { ProjectRow } from '../db/projects';

export interface ProjectInput {
  organization: string;
  name: string;
  description: string;
}

export type ProjectChanges = Partial<Pick<projects.ProjectRow, 'name' | 'description'>>;

/** The organization of a project the caller belongs to, and the caller's role there; 404 otherwise. */
async function projectScope(deps: WorkDeps, actor: Actor, id: string) {
  const organization = await projects.projectOrganization(currentDb(deps.db), id);
  if (!organization) throw notFound();
  const role = await deps.replica.requireRole(actor.id, organization);
  return { organization, role };
}

export async function createProject(deps: WorkDeps, actor: Actor, input: ProjectInput): Promise<projects.ProjectRow> {
  // An organization the caller does not belong to is reported like one that does not exist.
  const role = await deps.replica.roleOf(actor.id, input.organization);
  if (!role) throw validationFailed({ organization: ['Organization not found.'] });
  authorize(role, 'project.create');
  return inTransaction(deps.db, async (trx) => {
    const locked = await lockOrganizationForCreate(trx, input.organization, actor.id);
    if (!locked) throw validationFailed({ organization: ['Organization not found.'] });
    authorize(locked, 'project.create');
    const project = await projects.insertProject(trx, { organization_id: input.organization, name: input.name, description: input.description });
    await deps.outbox.add(trx, projectCreated(project, actor));
    return project;
  });
}

export async function getProject(deps: WorkDeps, actor: Actor, id: string): Promise<projects.ProjectRow> {
  const found = await projects.findProjectWithMembership(deps.db, id, actor.id);
  if (!found) throw notFound();
  await deps.replica.requireJoinedRole(actor.id, found.project.organization_id, found.membership);
  return found.project;
}

export async function listProjects(deps: WorkDeps, actor: Actor, query: { organization?: string; after?: readonly [string, string]; limit: number }): Promise<JsonPage> {
  return deps.replica.readScoped(actor.id, query.organization, (organizations, extra) => projects.listProjects(deps.db, organizations, query.after, query.limit, extra));
}

/** PATCH and PUT: `changes` holds the fields sent; `ifMatch` comes from If-Match. */
export async function updateProject(deps: WorkDeps, actor: Actor, { id, changes, ifMatch }: { id: string; changes: ProjectChanges; ifMatch?: IfMatch }): Promise<projects.ProjectRow> {
  const { organization, role } = await projectScope(deps, actor, id);
  authorize(role, 'project.update');
  return inTransaction(deps.db, async (trx) => {
    const current = await projects.findProject(trx, id, organization, { lock: 'update' });
    if (!current) throw notFound();
    requireIfMatch(ifMatch, current.version);
    const diff = changesBetween(current, changes);
    if (Object.keys(diff).length === 0) return current;
    const updated = await projects.updateProject(trx, id, changes);
    await deps.outbox.add(trx, projectUpdated(updated, diff, actor));
    return updated;
  });
}

/** Deletes the project and its tasks; each task deletion is an event of its own. */
export async function deleteProject(deps: WorkDeps, actor: Actor, { id, ifMatch }: { id: string; ifMatch?: IfMatch }): Promise<void> {
  const { organization, role } = await projectScope(deps, actor, id);
  authorize(role, 'project.delete');
  await inTransaction(deps.db, async (trx) => {
    // FOR UPDATE waits for tasks being written into the project and keeps new ones out.
    const current = await projects.findProject(trx, id, organization, { lock: 'delete' });
    if (!current) throw notFound();
    requireIfMatch(ifMatch, current.version);
    const deletedTasks = await tasks.deleteTasksWhere(trx, { project_id: id });
    await projects.deleteProjectRow(trx, id);
    await deps.outbox.add(trx, deletedTasks.map((t) => taskDeleted(t, actor)), projectDeleted(current, actor));
  });
}
