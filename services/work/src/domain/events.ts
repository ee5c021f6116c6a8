// The work.* events this service publishes, built from resources; written to the outbox in the caller's transaction.
import type { Changes, NewEvent, ProjectSummary, TaskSummary } from '@taskflow/shared';
import type { ProjectRow } from '../db/projects';
import type { TaskRow } from '../db/tasks';
import type { Actor } from './model';

const projectSummary = (p: ProjectRow): ProjectSummary => ({ id: p.id, name: p.name });
const taskSummary = (t: TaskRow): TaskSummary => ({ id: t.id, project_id: t.project_id, title: t.title, assigned_to: t.assigned_to });
const actorOf = (actor: Actor | null) => (actor ? { id: actor.id, email: actor.email } : null);

export const projectCreated = (p: ProjectRow, actor: Actor | null): NewEvent<'work.project.created'> => ({
  type: 'work.project.created',
  organization_id: p.organization_id,
  actor: actorOf(actor),
  data: { project: projectSummary(p) },
});

export const projectUpdated = (p: ProjectRow, changes: Changes, actor: Actor | null): NewEvent<'work.project.updated'> => ({
  type: 'work.project.updated',
  organization_id: p.organization_id,
  actor: actorOf(actor),
  data: { project: projectSummary(p), changes },
});

export const projectDeleted = (p: ProjectRow, actor: Actor | null): NewEvent<'work.project.deleted'> => ({
  type: 'work.project.deleted',
  organization_id: p.organization_id,
  actor: actorOf(actor),
  data: { project: projectSummary(p) },
});

export const taskCreated = (t: TaskRow, actor: Actor | null): NewEvent<'work.task.created'> => ({
  type: 'work.task.created',
  organization_id: t.organization_id,
  actor: actorOf(actor),
  data: { task: taskSummary(t) },
});

export const taskUpdated = (t: TaskRow, changes: Changes, actor: Actor | null): NewEvent<'work.task.updated'> => ({
  type: 'work.task.updated',
  organization_id: t.organization_id,
  actor: actorOf(actor),
  data: { task: taskSummary(t), changes },
});

export const taskDeleted = (t: TaskRow, actor: Actor | null): NewEvent<'work.task.deleted'> => ({
  type: 'work.task.deleted',
  organization_id: t.organization_id,
  actor: actorOf(actor),
  data: { task: taskSummary(t) },
});

/** `{field: [old, new]}` for each field of `next` whose value differs from `current`. */
export function changesBetween<T extends object>(current: T, next: Partial<T>): Changes {
  const changes: Changes = {};
  for (const [field, value] of Object.entries(next) as Array<[keyof T & string, unknown]>) {
    if (value !== undefined && value !== current[field]) changes[field] = [current[field], value];
  }
  return changes;
}

/** The envelope's actor of a consumed event, as the actor of the events it causes. */
export function actorOfEnvelope(envelope: { actor_id: string | null; actor_email: string | null }): Actor | null {
  return envelope.actor_id && envelope.actor_email ? { id: envelope.actor_id, email: envelope.actor_email } : null;
}
