// Task use cases: scoping by membership, the role rules of policy.ts, references checked in the task's organization.
import { type Knex, notFound, requireIfMatch, type IfMatch, validationFailed } from '@taskflow/shared';
import { oneOrganization } from '../db/keyset';
import * as projects from '../db/projects';
import * as tasks from '../db/tasks';
import { changesBetween, taskCreated, taskDeleted, taskUpdated } from './events';
import type { Actor, Task, WorkContext } from './model';
import { lockOrganizationForCreate } from './organization-lock';
import { authorize } from './policy';

export type TaskInput = tasks.TaskValues;

export const WRITABLE_TASK_FIELDS: readonly string[] = ['project', 'title', 'description', 'assigned_to', 'status', 'priority', 'due_date'];

const projectNotFound = () => validationFailed({ project: ['Project not found.'] });
const notAMember = () => validationFailed({ assigned_to: ['User is not a member of this organization.'] });

/** The organization of a task the caller belongs to, and the caller's role there; 404 otherwise. */
async function taskScope(ctx: WorkContext, actor: Actor, id: string) {
  const organization = await tasks.taskOrganization(ctx.db, id);
  if (!organization) throw notFound();
  const role = await ctx.replica.requireRole(actor.id, organization);
  return { organization, role };
}

/** Checks (and, on a replica miss, fetches) that `assignee` belongs to the organization, before any transaction. */
async function checkAssignee(ctx: WorkContext, organization: string, assignee: string | null | undefined): Promise<void> {
  if (assignee && !(await ctx.replica.roleOf(assignee, organization))) throw notAMember();
}

/** Inside the write: the assignee is still a member, and stays one until commit (a removal waits, then unassigns). */
async function lockAssignee(trx: Knex.Transaction, organization: string, assignee: string | null | undefined): Promise<void> {
  if (assignee && !(await tasks.lockedRoleOf(trx, organization, assignee))) throw notAMember();
}

/** Inside the write: the project still exists in `organization` and cannot be deleted until commit. */
async function lockProject(trx: Knex.Transaction, organization: string, project: string): Promise<void> {
  if ((await projects.projectOrganization(trx, project, { keyShare: true })) !== organization) throw projectNotFound();
}

/** `commit` runs the write in the transaction the caller chooses (an Idempotency-Key wraps it). */
export async function createTask<R>(
  ctx: WorkContext,
  actor: Actor,
  input: TaskInput,
  commit: (write: (trx: Knex.Transaction) => Promise<Task>) => Promise<R>,
): Promise<R> {
  // A project in an organization the caller does not belong to is reported like one that does not exist.
  const organization = await projects.projectOrganization(ctx.db, input.project);
  const role = organization ? await ctx.replica.roleOf(actor.id, organization) : null;
  if (!organization || !role) throw projectNotFound();
  authorize(role, { kind: 'task.create' });
  await checkAssignee(ctx, organization, input.assigned_to);
  return commit(async (trx) => {
    const locked = await lockOrganizationForCreate(trx, organization, actor.id);
    if (!locked) throw projectNotFound();
    authorize(locked, { kind: 'task.create' });
    await lockProject(trx, organization, input.project);
    await lockAssignee(trx, organization, input.assigned_to);
    const task = await tasks.insertTask(trx, { ...input, organization_id: organization, created_by: actor.id });
    await ctx.outbox.add(trx, taskCreated(task, actor));
    return task;
  });
}

export async function getTask(ctx: WorkContext, actor: Actor, id: string): Promise<Task> {
  const found = await tasks.findTaskWithMembership(ctx.db, id, actor.id);
  if (!found) throw notFound();
  await ctx.replica.requireJoinedRole(actor.id, found.task.organization, found.membership);
  return found.task;
}

export interface TaskListQuery extends Omit<tasks.TaskFilters, 'assignedTo'> {
  organization?: string;
  /** A user id, `me` or `none`. */
  assigned_to?: string;
  ordering: { column: string; descending: boolean; after?: [string | number, string] };
  limit: number;
}

export async function listTasks(ctx: WorkContext, actor: Actor, query: TaskListQuery): Promise<tasks.TaskRow[]> {
  let organizations = ctx.replica.organizationsOf(actor.id);
  if (query.organization !== undefined) {
    await ctx.replica.requireRole(actor.id, query.organization);
    organizations = oneOrganization(ctx.db, query.organization);
  }
  const { organization: _organization, assigned_to, ordering, limit, ...filters } = query;
  const assignedTo = assigned_to === 'me' ? actor.id : assigned_to === 'none' ? null : assigned_to;
  return tasks.listTasks(ctx.db, organizations, { ...filters, assignedTo }, ordering, limit);
}

/**
 * PATCH and PUT. `input` holds every key of the body (validated ones, plus any unknown ones, which a
 * member is refused with 403 and anyone else with 400); `ifMatch` comes from If-Match.
 */
export async function updateTask(ctx: WorkContext, actor: Actor, id: string, input: Record<string, unknown>, ifMatch?: IfMatch): Promise<Task> {
  const { organization, role } = await taskScope(ctx, actor, id);
  const fields = Object.keys(input);
  const before = await tasks.findTask(ctx.db, id, organization);
  if (!before) throw notFound();
  authorize(role, { kind: 'task.update', assignedToCaller: before.assigned_to === actor.id, fields });
  const unknown = fields.filter((f) => !WRITABLE_TASK_FIELDS.includes(f));
  if (unknown.length > 0) throw validationFailed(Object.fromEntries(unknown.map((f) => [f, ['This field cannot be written.']])));
  const changes = input as Partial<TaskInput>;

  if (changes.project !== undefined && changes.project !== before.project) {
    const target = await projects.projectOrganization(ctx.db, changes.project);
    if (!target || !(await ctx.replica.roleOf(actor.id, target))) throw projectNotFound();
    if (target !== organization) throw validationFailed({ project: ['A task cannot move to a project of another organization.'] });
  }
  if (changes.assigned_to !== before.assigned_to) await checkAssignee(ctx, organization, changes.assigned_to);

  return ctx.db.transaction(async (trx) => {
    const current = await tasks.findTask(trx, id, organization, { forUpdate: true });
    if (!current) throw notFound();
    // Decided again on the locked row: the assignee may have changed since the first read.
    authorize(role, { kind: 'task.update', assignedToCaller: current.assigned_to === actor.id, fields });
    requireIfMatch(ifMatch, current.version);
    const diff = changesBetween(current, changes);
    if (Object.keys(diff).length === 0) return current;
    if (diff.project) await lockProject(trx, organization, changes.project!);
    if (diff.assigned_to) await lockAssignee(trx, organization, changes.assigned_to);
    const updated = await tasks.updateTaskRow(trx, id, changes);
    await ctx.outbox.add(trx, taskUpdated(updated, diff, actor));
    return updated;
  });
}

export async function deleteTask(ctx: WorkContext, actor: Actor, id: string, ifMatch?: IfMatch): Promise<void> {
  const { organization, role } = await taskScope(ctx, actor, id);
  authorize(role, { kind: 'task.delete' });
  await ctx.db.transaction(async (trx) => {
    const current = await tasks.findTask(trx, id, organization, { forUpdate: true });
    if (!current) throw notFound();
    requireIfMatch(ifMatch, current.version);
    await tasks.deleteTaskRow(trx, id);
    await ctx.outbox.add(trx, taskDeleted(current, actor));
  });
}
