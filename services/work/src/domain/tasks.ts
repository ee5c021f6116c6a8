// Task use cases: scoping by membership, the role rules of policy.ts, references checked in the task's organization.
import { currentDb, inTransaction, type JsonPage, type Knex, notFound, requireIfMatch, type IfMatch, validationFailed } from '@taskflow/shared';
import * as projects from '../db/projects';
import * as tasks from '../db/tasks';
import { changesBetween, taskCreated, taskDeleted, taskUpdated } from './events';
import type { Actor, WorkDeps } from './model';
import { lockOrganizationForCreate } from './organization-lock';
import { authorize } from './policy';

export type TaskInput = tasks.TaskValues;
export type { TaskRow } from '../db/tasks';

/** A task's writable fields by their API names, the names a change is given in. */
const writableValues = (row: tasks.TaskRow): TaskInput => ({
  project: row.project_id,
  title: row.title,
  description: row.description,
  assigned_to: row.assigned_to,
  status: row.status,
  priority: row.priority,
  due_date: row.due_date,
});

export const WRITABLE_TASK_FIELDS: readonly string[] = ['project', 'title', 'description', 'assigned_to', 'status', 'priority', 'due_date'];

const projectNotFound = () => validationFailed({ project: ['Project not found.'] });
const notAMember = () => validationFailed({ assigned_to: ['User is not a member of this organization.'] });

/** The organization of a task the caller belongs to, and the caller's role there; 404 otherwise. */
async function taskScope(deps: WorkDeps, actor: Actor, id: string) {
  const organization = await tasks.taskOrganization(currentDb(deps.db), id);
  if (!organization) throw notFound();
  const role = await deps.replica.requireRole(actor.id, organization);
  return { organization, role };
}

/** Checks (and, on a replica miss, fetches) that `assignee` belongs to the organization, before any transaction. */
async function checkAssignee(deps: WorkDeps, organization: string, assignee: string | null | undefined): Promise<void> {
  if (assignee && !(await deps.replica.roleOf(assignee, organization))) throw notAMember();
}

/** Inside the write: the assignee is still a member, and stays one until commit (a removal waits, then unassigns). */
async function lockAssignee(trx: Knex.Transaction, organization: string, assignee: string | null | undefined): Promise<void> {
  if (assignee && !(await tasks.lockedRoleOf(trx, organization, assignee))) throw notAMember();
}

/** Inside the write: the project still exists in `organization` and cannot be deleted until commit. */
async function lockProject(trx: Knex.Transaction, organization: string, project: string): Promise<void> {
  if ((await projects.projectOrganization(trx, project, { keyShare: true })) !== organization) throw projectNotFound();
}

export async function createTask(deps: WorkDeps, actor: Actor, input: TaskInput): Promise<tasks.TaskRow> {
  // A project in an organization the caller does not belong to is reported like one that does not exist.
  const organization = await projects.projectOrganization(currentDb(deps.db), input.project);
  const role = organization ? await deps.replica.roleOf(actor.id, organization) : null;
  if (!organization || !role) throw projectNotFound();
  authorize(role, 'task.create');
  await checkAssignee(deps, organization, input.assigned_to);
  return inTransaction(deps.db, async (trx) => {
    const locked = await lockOrganizationForCreate(trx, organization, actor.id);
    if (!locked) throw projectNotFound();
    authorize(locked, 'task.create');
    await lockProject(trx, organization, input.project);
    await lockAssignee(trx, organization, input.assigned_to);
    const task = await tasks.insertTask(trx, { ...input, organization_id: organization, created_by: actor.id });
    await deps.outbox.add(trx, taskCreated(task, actor));
    return task;
  });
}

export async function getTask(deps: WorkDeps, actor: Actor, id: string): Promise<tasks.TaskRow> {
  const found = await tasks.findTaskWithMembership(deps.db, id, actor.id);
  if (!found) throw notFound();
  await deps.replica.requireJoinedRole(actor.id, found.task.organization_id, found.membership);
  return found.task;
}

export interface TaskListQuery extends Omit<tasks.TaskFilters, 'assignedTo'> {
  organization?: string;
  /** A user id, `me` or `none`. */
  assigned_to?: string;
  sort: tasks.TaskSort;
  limit: number;
}

export async function listTasks(deps: WorkDeps, actor: Actor, query: TaskListQuery): Promise<JsonPage> {
  const { organization, assigned_to, sort, limit, ...filters } = query;
  const assignedTo = assigned_to === 'me' ? actor.id : assigned_to === 'none' ? null : assigned_to;
  return deps.replica.readScoped(actor.id, organization, (organizations, extra) =>
    tasks.listTasks(deps.db, organizations, { ...filters, assignedTo }, sort, limit, extra),
  );
}

export interface TaskUpdate {
  id: string;
  /** Every key of the body: validated ones, plus any unknown ones (a member is refused them with 403, anyone else with 400). */
  changes: Record<string, unknown>;
  ifMatch?: IfMatch;
}

/** PATCH and PUT. */
export async function updateTask(deps: WorkDeps, actor: Actor, { id, changes: input, ifMatch }: TaskUpdate): Promise<tasks.TaskRow> {
  const { organization, role } = await taskScope(deps, actor, id);
  const fields = Object.keys(input);
  const before = await tasks.findTask(currentDb(deps.db), id, organization);
  if (!before) throw notFound();
  authorize(role, 'task.update', { assignedToCaller: before.assigned_to === actor.id, fields });
  const unknown = fields.filter((f) => !WRITABLE_TASK_FIELDS.includes(f));
  if (unknown.length > 0) throw validationFailed(Object.fromEntries(unknown.map((f) => [f, ['This field cannot be written.']])));
  const changes = input as Partial<TaskInput>;

  if (changes.project !== undefined && changes.project !== before.project_id) {
    const target = await projects.projectOrganization(currentDb(deps.db), changes.project);
    if (!target || !(await deps.replica.roleOf(actor.id, target))) throw projectNotFound();
    if (target !== organization) throw validationFailed({ project: ['A task cannot move to a project of another organization.'] });
  }
  if (changes.assigned_to !== before.assigned_to) await checkAssignee(deps, organization, changes.assigned_to);

  return inTransaction(deps.db, async (trx) => {
    const current = await tasks.findTask(trx, id, organization, { forUpdate: true });
    if (!current) throw notFound();
    // Decided again on the locked row: the assignee may have changed since the first read.
    authorize(role, 'task.update', { assignedToCaller: current.assigned_to === actor.id, fields });
    requireIfMatch(ifMatch, current.version);
    const diff = changesBetween(writableValues(current), changes);
    if (Object.keys(diff).length === 0) return current;
    if (diff.project) await lockProject(trx, organization, changes.project!);
    if (diff.assigned_to) await lockAssignee(trx, organization, changes.assigned_to);
    const updated = await tasks.updateTaskRow(trx, id, changes);
    await deps.outbox.add(trx, taskUpdated(updated, diff, actor));
    return updated;
  });
}

export async function deleteTask(deps: WorkDeps, actor: Actor, { id, ifMatch }: { id: string; ifMatch?: IfMatch }): Promise<void> {
  const { organization, role } = await taskScope(deps, actor, id);
  authorize(role, 'task.delete');
  await inTransaction(deps.db, async (trx) => {
    const current = await tasks.findTask(trx, id, organization, { forUpdate: true });
    if (!current) throw notFound();
    requireIfMatch(ifMatch, current.version);
    await tasks.deleteTaskRow(trx, id);
    await deps.outbox.add(trx, taskDeleted(current, actor));
  });
}
